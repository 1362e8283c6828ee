import { Schema, type Connection, type Model } from 'mongoose';
import type { DerivedMessageStatus, RecipientState } from './recipient-status';

export type { RecipientState, RecipientStatus } from './recipient-status';

/** Derived from the recipients (deriveMessageStatus), plus `sending` while an attempt runs. */
export type MessageStatus = DerivedMessageStatus | 'sending';

/** Why a message is not being sent: its domain may not send now (DESIGN §2 step 6). */
export interface MessageHold {
  /** The sending decision's reason, as GET /v1/policy gives it. */
  reason: string;
  /** When this hold began. */
  since: Date;
  /**
   * True while an operator holds the message (POST /v1/admin/queue/hold): it waits without a
   * delivery job until a release re-enqueues it, so recovery leaves it alone.
   */
  operator?: boolean;
}

/** One delivery attempt, kept for the message's whole life. */
export interface DeliveryAttempt {
  at: Date;
  /**
   * The message's status after this attempt. `held`: the domain was not allowed to send,
   * so nothing was sent; `bounced`: some recipients were delivered, the others bounced.
   */
  status: 'delivered' | 'deferred' | 'held' | 'bounced' | 'failed';
  /** SMTP reply code from the next hop, when there was one. */
  code: number | null;
  response: string | null;
  durationMs: number;
}

/** A message accepted by the relay: spooled here before the client hears 250. */
export interface MessageDoc {
  /** The queueId: short, unique, URL-safe. */
  _id: string;
  accountId: string;
  domainId: string;
  /** The sending domain (lowercase A-label). */
  domain: string;
  /** The SMTP user that submitted it. */
  username: string;
  envelope: { from: string; to: string[] };
  /**
   * One entry per envelope recipient, set at spool time and updated by every attempt.
   * Messages spooled before per-recipient status have none: they read as all `queued`.
   */
  recipients: RecipientState[];
  /** The message exactly as received. */
  raw: Buffer;
  size: number;
  status: MessageStatus;
  /** Set while the message is `held` (and kept when a held message fails); null otherwise. */
  hold?: MessageHold | null;
  attempts: DeliveryAttempt[];
  /** DESIGN: capture mode keeps the signed message for GET /v1/messages/:queueId/raw. */
  captured: Buffer | null;
  createdAt: Date;
  updatedAt: Date;
  deliveredAt: Date | null;
}

const schema = new Schema<MessageDoc>(
  {
    _id: { type: String, required: true },
    accountId: { type: String, required: true },
    domainId: { type: String, required: true },
    domain: { type: String, required: true },
    username: { type: String, required: true },
    envelope: { type: Schema.Types.Mixed, required: true },
    recipients: { type: Schema.Types.Mixed, default: undefined },
    raw: { type: Buffer, required: true },
    size: { type: Number, required: true },
    status: { type: String, required: true },
    hold: { type: Schema.Types.Mixed, default: null },
    attempts: { type: Schema.Types.Mixed, default: [] },
    captured: { type: Buffer, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    deliveredAt: { type: Date, default: null },
  },
  { versionKey: false, collection: 'messages', minimize: false },
);
// Recovery: messages still queued after a while, oldest first.
schema.index({ status: 1, updatedAt: 1 });
schema.index({ accountId: 1, _id: 1 });
// Releasing a domain's held messages when it may send again.
schema.index({ domainId: 1, status: 1, _id: 1 });
// Queue operations by account (hold, release, retry, cancel, stats).
schema.index({ accountId: 1, status: 1, _id: 1 });

export function messageModel(conn: Connection): Model<MessageDoc> {
  return conn.models.Message ?? conn.model<MessageDoc>('Message', schema);
}
