import { Router, type Request } from 'express';
import { z } from 'zod';
import { NotFoundError } from '../errors';
import { isId } from '../ids';
import { WEBHOOK_EVENT_TYPES } from './webhook-events';
import type { WebhookService } from './webhook.service';
import { accountIdOf } from '../http/auth';
import { pageLimit, parse } from '../http/validate';

export const createWebhookBody = z.strictObject({
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
    }, 'must be an absolute http(s) URL without credentials'),
  events: z
    .array(z.enum(WEBHOOK_EVENT_TYPES, { message: `must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}` }), { message: 'must be a list of event names' })
    .min(1, 'must name at least one event'),
  domainId: z
    .string()
    .refine((v) => isId(v, 'dom'), 'must be a domain id')
    .optional(),
});

const deliveriesQuery = z.strictObject({
  limit: pageLimit,
  before: z
    .string()
    .refine((v) => isId(v, 'wdl'), 'must be a cursor returned as nextCursor')
    .optional(),
});

function webhookIdParam(req: Request): string {
  const id = String(req.params.id);
  if (!isId(id, 'whk')) throw new NotFoundError('webhook');
  return id;
}

export function webhooksRoutes(webhooks: WebhookService): Router {
  const r = Router();

  r.post('/v1/webhooks', async (req, res) => {
    const body = parse(createWebhookBody, req.body);
    res.status(201).setHeader('Cache-Control', 'no-store').json(await webhooks.create(accountIdOf(req), body));
  });

  r.get('/v1/webhooks', async (req, res) => {
    res.json({ data: await webhooks.list(accountIdOf(req)) });
  });

  r.delete('/v1/webhooks/:id', async (req, res) => {
    await webhooks.remove(accountIdOf(req), webhookIdParam(req));
    res.status(204).end();
  });

  r.get('/v1/webhooks/:id/deliveries', async (req, res) => {
    const accountId = accountIdOf(req);
    const id = webhookIdParam(req);
    const q = parse(deliveriesQuery, req.query, 'query');
    res.json(await webhooks.listDeliveries(accountId, id, q.limit ?? 50, q.before));
  });

  r.post('/v1/webhooks/:id/test', async (req, res) => {
    res.status(202).json(await webhooks.sendTest(accountIdOf(req), webhookIdParam(req)));
  });

  r.post('/v1/webhooks/:id/rotate-secret', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store').json(await webhooks.rotateSecret(accountIdOf(req), webhookIdParam(req)));
  });

  r.post('/v1/webhooks/:id/enable', async (req, res) => {
    res.json(await webhooks.enable(accountIdOf(req), webhookIdParam(req)));
  });

  return r;
}
