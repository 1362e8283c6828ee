import { Schema, type Connection, type Model } from 'mongoose';
import type { RecordCheck } from './verification-result';

/** One check of one domain: kept in its own collection, never in a growing array. */
export interface CheckDoc {
  _id: string;
  domainId: string;
  accountId: string;
  trigger: 'scheduled' | 'verify';
  verdict: 'pass' | 'fail' | 'temperror';
  zone: string | null;
  records: RecordCheck[];
  dmarc: { found: string | null; advice: string | null };
  statusBefore: string;
  statusAfter: string;
  durationMs: number;
  createdAt: Date;
}

const schema = new Schema<CheckDoc>(
  {
    _id: { type: String, required: true },
    domainId: { type: String, required: true },
    accountId: { type: String, required: true },
    trigger: { type: String, required: true },
    verdict: { type: String, required: true },
    zone: { type: String, default: null },
    records: { type: Schema.Types.Mixed, default: [] },
    dmarc: { type: Schema.Types.Mixed, default: null },
    statusBefore: { type: String, required: true },
    statusAfter: { type: String, required: true },
    durationMs: { type: Number, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'checks', minimize: false },
);
schema.index({ domainId: 1, _id: -1 });
schema.index({ createdAt: 1 });

export function checkModel(conn: Connection): Model<CheckDoc> {
  return conn.models.Check ?? conn.model<CheckDoc>('Check', schema);
}
