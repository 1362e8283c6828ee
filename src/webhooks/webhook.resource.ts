import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from './webhook-events';

// The JSON schemas of the webhook routes' answers, for /openapi.json; toWebhookResource
// (webhook.service.ts) builds the subscription they describe.

const isoDate = z.iso.datetime();

const webhookFields = {
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
  domainId: z.string().nullable(),
  status: z.enum(['active', 'disabled']),
  disabledReason: z.string().nullable(),
  consecutiveFailures: z.number().int(),
  createdAt: isoDate,
};

export const webhookSchema = z.strictObject(webhookFields).meta({ id: 'Webhook' });

export const createdWebhookSchema = z
  .strictObject({ ...webhookFields, secret: z.string().meta({ description: 'the whsec_ signing secret, shown only here' }) })
  .meta({ id: 'WebhookCreated' });

export const webhookListSchema = z.strictObject({ data: z.array(webhookSchema) }).meta({ id: 'WebhookList' });

export const deliveryPageSchema = z
  .strictObject({
    data: z.array(
      z.strictObject({
        id: z.string(),
        webhookId: z.string(),
        eventId: z.string(),
        type: z.string(),
        attempt: z.number().int(),
        statusCode: z.number().int().nullable(),
        latencyMs: z.number(),
        error: z.string().nullable(),
        outcome: z.enum(['delivered', 'retrying', 'failed', 'disabled']),
        createdAt: isoDate,
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: 'WebhookDeliveryPage', description: 'every delivery attempt, newest first; nextCursor is the `before` of the next page' });

export const testEventSchema = z.strictObject({ eventId: z.string() }).meta({ id: 'WebhookTestEvent' });

export const rotatedSecretSchema = z
  .strictObject({
    id: z.string(),
    secret: z.string().meta({ description: 'the new whsec_ secret, shown only here' }),
    previousSecretExpiresAt: isoDate,
  })
  .meta({ id: 'WebhookSecretRotated' });
