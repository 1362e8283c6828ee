import { Schema, type Connection, type Model } from 'mongoose';

/** Why an address is on the list: a hard bounce, a complaint, or the owner's own entry. */
export const SUPPRESSION_REASONS = ['bounce', 'complaint', 'manual'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** The SMTP reply that put an address on the list. */
export interface SmtpReplyDoc {
  code: number;
  /** The enhanced status code (RFC 3463), when the reply had one. */
  enhanced: string | null;
  message: string;
}

/** One address on an account's suppression list. */
export interface SuppressionDoc {
  _id: string;
  accountId: string;
  /** Normalised (normalizeEmailAddress): local part as given, domain as its lowercase A-label. */
  address: string;
  reason: SuppressionReason;
  reply: SmtpReplyDoc | null;
  createdAt: Date;
  updatedAt: Date;
  /**
   * From then on the entry no longer suppresses, and reads as absent; null: never.
   * Expired in code, not by a TTL index (FerretDB v1 has none).
   */
  expiresAt: Date | null;
}

const schema = new Schema<SuppressionDoc>(
  {
    _id: { type: String, required: true },
    accountId: { type: String, required: true },
    address: { type: String, required: true },
    reason: { type: String, required: true, enum: SUPPRESSION_REASONS },
    reply: { type: Schema.Types.Mixed, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    expiresAt: { type: Date, default: null },
  },
  { versionKey: false, collection: 'suppressions', minimize: false },
);
// One entry per address and account: concurrent adds meet here (11000), not in a read.
// It also serves the relay's lookup and the list, which pages in address order.
schema.index({ accountId: 1, address: 1 }, { unique: true });

export function suppressionModel(conn: Connection): Model<SuppressionDoc> {
  return conn.models.Suppression ?? conn.model<SuppressionDoc>('Suppression', schema);
}
