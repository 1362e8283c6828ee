import { z } from 'zod';
import type { DeliveryAttempt, MessageDoc, MessageHold, MessageStatus } from './message.model';

/** The message resource of `GET /v1/messages/:queueId` and of message.* events. */
export interface MessageResource {
  queueId: string;
  status: MessageStatus;
  /** Why the message is held (its domain may not send now); null when it is not held. */
  hold: MessageHold | null;
  domain: string;
  envelope: { from: string; to: string[] };
  size: number;
  attempts: DeliveryAttempt[];
  createdAt: Date;
  deliveredAt: Date | null;
}

/** The JSON schema of MessageResource (dates as ISO strings), for /openapi.json. */
export const messageResourceSchema = z
  .strictObject({
    queueId: z.string(),
    status: z.enum(['queued', 'sending', 'delivered', 'deferred', 'held', 'failed']),
    hold: z
      .strictObject({ reason: z.string(), since: z.iso.datetime() })
      .nullable()
      .meta({ description: 'why the message is held: its domain may not send now; retried until it may, failed after the retry window' }),
    domain: z.string(),
    envelope: z.strictObject({ from: z.string(), to: z.array(z.string()) }),
    size: z.number().int(),
    attempts: z.array(
      z.strictObject({
        at: z.iso.datetime(),
        status: z.enum(['delivered', 'deferred', 'held', 'failed']),
        code: z.number().int().nullable().meta({ description: 'SMTP reply code of the next hop' }),
        response: z.string().nullable(),
        durationMs: z.number(),
      }),
    ),
    createdAt: z.iso.datetime(),
    deliveredAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'Message' });

export function toMessageResource(m: Omit<MessageDoc, 'raw' | 'captured'>): MessageResource {
  return {
    queueId: m._id,
    status: m.status,
    hold: m.hold ? { reason: m.hold.reason, since: m.hold.since } : null,
    domain: m.domain,
    envelope: { from: m.envelope.from, to: [...m.envelope.to] },
    size: m.size,
    attempts: (m.attempts ?? []).map((a) => ({
      at: a.at,
      status: a.status,
      code: a.code,
      response: a.response,
      durationMs: a.durationMs,
    })),
    createdAt: m.createdAt,
    deliveredAt: m.deliveredAt ?? null,
  };
}
