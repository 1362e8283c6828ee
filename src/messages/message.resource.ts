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
