import { z } from 'zod';
import { idPattern } from '../ids';
import { WEBHOOK_EVENT_TYPES } from './webhook-events';
import type { WebhookService } from './webhook.service';
import { createdWebhookSchema, deliveryPageSchema, rotatedSecretSchema, testEventSchema, webhookListSchema, webhookSchema } from './webhook.resource';
import { pathParam, RouteTable } from '../http/route';
import { pageLimit } from '../http/validate';

export const createWebhookBody = z
  .strictObject({
    url: z
      .string({ message: 'is required' })
      .max(2048, 'is too long')
      .refine((v) => {
        try {
          const u = new URL(v);
          return (u.protocol === 'http:' || u.protocol === 'https:') && Boolean(u.hostname) && !u.username && !u.password;
        } catch {
          return false;
        }
      }, 'must be an absolute http(s) URL without credentials')
      .meta({ description: 'an absolute http(s) URL without credentials' }),
    events: z
      .array(z.enum(WEBHOOK_EVENT_TYPES, { message: `must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}` }), { message: 'must be a list of event names' })
      .min(1, 'must name at least one event'),
    domainId: z.string().regex(idPattern('dom'), 'must be a domain id').optional(),
  })
  .meta({ id: 'CreateWebhook' });

const deliveriesQuery = z.strictObject({
  limit: pageLimit,
  before: z.string().regex(idPattern('wdl'), 'must be a cursor returned as nextCursor').optional(),
});

const webhookIdParam = pathParam('webhook', z.string().regex(idPattern('whk')));

export function webhooksRoutes(webhooks: WebhookService): RouteTable {
  return new RouteTable()
    .route({
      method: 'post',
      path: '/v1/webhooks',
      summary: 'Subscribe to events; the whsec_ secret is returned only here',
      auth: 'account',
      body: createWebhookBody,
      responses: { 201: { description: 'the subscription and its secret', body: createdWebhookSchema } },
      errors: [409, 503],
      handler: async ({ accountId, body }, res) => {
        res.status(201).setHeader('Cache-Control', 'no-store').json(await webhooks.create(accountId, body));
      },
    })
    .route({
      method: 'get',
      path: '/v1/webhooks',
      summary: "The account's subscriptions",
      auth: 'account',
      responses: { 200: { description: 'every subscription', body: webhookListSchema } },
      handler: async ({ accountId }, res) => {
        res.json({ data: await webhooks.list(accountId) });
      },
    })
    .route({
      method: 'delete',
      path: '/v1/webhooks/:id',
      summary: 'Remove a subscription',
      auth: 'account',
      params: { id: webhookIdParam },
      responses: { 204: { description: 'deleted' } },
      handler: async ({ accountId, params }, res) => {
        await webhooks.remove(accountId, params.id);
        res.status(204).end();
      },
    })
    .route({
      method: 'get',
      path: '/v1/webhooks/:id/deliveries',
      summary: 'Every delivery attempt, newest first',
      auth: 'account',
      params: { id: webhookIdParam },
      query: deliveriesQuery,
      responses: { 200: { description: 'a page of the delivery log', body: deliveryPageSchema } },
      handler: async ({ accountId, params, query }, res) => {
        res.json(await webhooks.listDeliveries(accountId, params.id, query.limit ?? 50, query.before));
      },
    })
    .route({
      method: 'post',
      path: '/v1/webhooks/:id/test',
      summary: 'Send a webhook.test event',
      auth: 'account',
      params: { id: webhookIdParam },
      responses: { 202: { description: 'the event is queued', body: testEventSchema } },
      handler: async ({ accountId, params }, res) => {
        res.status(202).json(await webhooks.sendTest(accountId, params.id));
      },
    })
    .route({
      method: 'post',
      path: '/v1/webhooks/:id/rotate-secret',
      summary: 'New secret; the old one signs too for 24 h',
      auth: 'account',
      params: { id: webhookIdParam },
      responses: { 200: { description: 'the new secret', body: rotatedSecretSchema } },
      handler: async ({ accountId, params }, res) => {
        res.setHeader('Cache-Control', 'no-store').json(await webhooks.rotateSecret(accountId, params.id));
      },
    })
    .route({
      method: 'post',
      path: '/v1/webhooks/:id/enable',
      summary: 'Re-enable a disabled subscription',
      auth: 'account',
      params: { id: webhookIdParam },
      responses: { 200: { description: 'the subscription', body: webhookSchema } },
      handler: async ({ accountId, params }, res) => {
        res.json(await webhooks.enable(accountId, params.id));
      },
    });
}
