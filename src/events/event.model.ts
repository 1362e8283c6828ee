import { Schema, type Connection, type Model } from 'mongoose';

/** A durable domain or message event; the webhook dispatcher reads these. */
export interface EventDoc {
  /** `{domainId}-{version}`: a retried check can never insert it twice. */
  _id: string;
  type: string;
  accountId: string;
  domainId: string;
  version: number;
  data: unknown;
  createdAt: Date;
  /** Fanned out to webhook subscriptions (their jobs are enqueued). */
  dispatched?: boolean;
}

const schema = new Schema<EventDoc>(
  {
    _id: { type: String, required: true },
    type: { type: String, required: true },
    accountId: { type: String, required: true },
    domainId: { type: String, default: '' },
    version: { type: Number, required: true },
    data: { type: Schema.Types.Mixed },
    createdAt: { type: Date, required: true },
    dispatched: { type: Boolean, default: false },
  },
  { versionKey: false, collection: 'events', minimize: false },
);
schema.index({ createdAt: 1 });
// The webhook dispatcher's work list: undispatched events, oldest first.
schema.index({ dispatched: 1, createdAt: 1 });
schema.index({ domainId: 1, version: 1 });

export function eventModel(conn: Connection): Model<EventDoc> {
  return conn.models.Event ?? conn.model<EventDoc>('Event', schema);
}
