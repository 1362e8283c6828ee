import { Schema, type Connection, type Model } from 'mongoose';

export interface AccountDoc {
  _id: string;
  name: string;
  /** SHA-256 (hex) of the API key; the key itself is never stored. */
  apiKeyHash: string;
  createdAt: Date;
}

const schema = new Schema<AccountDoc>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    apiKeyHash: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'accounts' },
);
schema.index({ apiKeyHash: 1 }, { unique: true });

export function accountModel(conn: Connection): Model<AccountDoc> {
  return conn.models.Account ?? conn.model<AccountDoc>('Account', schema);
}
