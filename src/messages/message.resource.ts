import { z } from 'zod';
import type { DeliveryAttempt, MessageDoc, MessageHold, MessageStatus } from './message.model';
import { queuedRecipients, RECIPIENT_STATUSES, type RecipientState } from './recipient-status';

/** The message resource of `GET /v1/messages/:queueId` and of message.* events. */
export interface MessageResource {
  queueId: string;
  status: MessageStatus;
  /** Why the message is held (its domain may not send now); null when it is not held. */
  hold: MessageHold | null;
  domain: string;
  envelope: { from: string; to: string[] };
  /** Every recipient with its own status; the message's status is derived from them. */
  recipients: RecipientState[];
  size: number;
  attempts: DeliveryAttempt[];
  createdAt: Date;
  deliveredAt: Date | null;
}

/** The JSON schema of MessageResource (dates as ISO strings), for /openapi.json. */
export const messageResourceSchema = z
  .strictObject({
    queueId: z.string(),
    status: z.enum(['queued', 'sending', 'delivered', 'deferred', 'held', 'bounced', 'failed']).meta({
      description:
        'derived from the recipients: held/deferred/queued while any is pending; delivered when all were; failed when none was; bounced when some were and others bounced',
    }),
    hold: z
      .strictObject({ reason: z.string(), since: z.iso.datetime() })
      .nullable()
      .meta({ description: 'why the message is held: its domain may not send now; retried until it may, failed after the retry window' }),
    domain: z.string(),
    envelope: z.strictObject({ from: z.string(), to: z.array(z.string()) }),
    recipients: z.array(
      z.strictObject({
        address: z.string(),
        status: z.enum(RECIPIENT_STATUSES),
        reply: z
          .strictObject({ code: z.number().int(), enhanced: z.string().nullable(), message: z.string() })
          .nullable()
          .meta({ description: 'the last SMTP reply about this recipient; null when none decided (DNS, network, policy, capture)' }),
        remoteHost: z.string().nullable().meta({ description: 'the server that gave the reply, `mx.example.com[192.0.2.1]`' }),
        reason: z.string().nullable().meta({ description: 'why the recipient is where it is; `expired` once the retry window closed while it was deferred' }),
        attempts: z.number().int().meta({ description: 'delivery attempts that included this recipient' }),
        updatedAt: z.iso.datetime(),
        complaint: z
          .strictObject({ feedbackType: z.string(), at: z.iso.datetime() })
          .optional()
          .meta({ description: 'the recipient complained (an ARF report reached the return path)' }),
      }),
    ),
    size: z.number().int(),
    attempts: z.array(
      z.strictObject({
        at: z.iso.datetime(),
        status: z.enum(['delivered', 'deferred', 'held', 'bounced', 'failed']).meta({ description: "the message's status after this attempt" }),
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
    recipients: recipientsOf(m).map((r) => ({
      address: r.address,
      status: r.status,
      reply: r.reply ? { code: r.reply.code, enhanced: r.reply.enhanced, message: r.reply.message } : null,
      remoteHost: r.remoteHost,
      reason: r.reason ?? null,
      attempts: r.attempts,
      updatedAt: r.updatedAt,
      ...(r.complaint ? { complaint: { feedbackType: r.complaint.feedbackType, at: r.complaint.at } } : {}),
    })),
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

/** The message's recipients; one spooled before per-recipient status reads as all queued. */
export function recipientsOf(m: Pick<MessageDoc, 'recipients' | 'envelope' | 'createdAt'>): RecipientState[] {
  return m.recipients?.length ? m.recipients : queuedRecipients(m.envelope.to, m.createdAt);
}
