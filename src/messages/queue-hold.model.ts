import { Schema, type Connection, type Model } from 'mongoose';

/** What an operator hold covers: every message of one domain, or of one account. */
export type HoldScope = { domainId: string } | { accountId: string };

/** An operator's hold on the delivery queue (POST /v1/admin/queue/hold); removed by a release. */
export interface QueueHoldDoc {
  /** `domain:<id>` or `account:<id>`: one hold per scope. */
  _id: string;
  kind: 'domain' | 'account';
  targetId: string;
  createdAt: Date;
}

const schema = new Schema<QueueHoldDoc>(
  {
    _id: { type: String, required: true },
    kind: { type: String, required: true },
    targetId: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'queue_holds' },
);

export function queueHoldModel(conn: Connection): Model<QueueHoldDoc> {
  return conn.models.QueueHold ?? conn.model<QueueHoldDoc>('QueueHold', schema);
}

/** The hold's key, as the holds snapshot and the collection name it. */
export function holdKey(scope: HoldScope): string {
  return 'domainId' in scope ? `domain:${scope.domainId}` : `account:${scope.accountId}`;
}
