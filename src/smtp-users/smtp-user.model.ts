import { Schema, type Connection, type Model } from 'mongoose';
import type { PasswordHash } from './smtp-password';

/** At most this many SMTP users per domain (DESIGN §5): slots 0 to MAX_SMTP_USERS - 1. */
export const MAX_SMTP_USERS = 5;

/** A relay login of one domain. The password itself is never stored. */
export interface SmtpUserDoc {
  _id: string;
  /** `mw` + 16 lowercase base32 characters; unique across all domains (indexed). */
  username: string;
  domainId: string;
  accountId: string;
  /**
   * 0 to MAX_SMTP_USERS - 1, unique per domain: the unique index is what caps a domain
   * at five users, since a count-then-insert is not atomic (and FerretDB v1 has no
   * transactions to make it so).
   */
  slot: number;
  passwordHash: PasswordHash;
  createdAt: Date;
}

const passwordHash = new Schema<PasswordHash>(
  {
    algorithm: { type: String, required: true },
    N: { type: Number, required: true },
    r: { type: Number, required: true },
    p: { type: Number, required: true },
    keyLength: { type: Number, required: true },
    salt: { type: String, required: true },
    hash: { type: String, required: true },
  },
  { _id: false },
);

const schema = new Schema<SmtpUserDoc>(
  {
    _id: { type: String, required: true },
    username: { type: String, required: true },
    domainId: { type: String, required: true },
    accountId: { type: String, required: true },
    slot: { type: Number, required: true, min: 0, max: MAX_SMTP_USERS - 1 },
    passwordHash: { type: passwordHash, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'smtp_users', minimize: false },
);
// AUTH looks users up by name alone; the name is the whole login.
schema.index({ username: 1 }, { unique: true });
// The per-domain cap; also serves listing a domain's users.
schema.index({ domainId: 1, slot: 1 }, { unique: true });

export function smtpUserModel(conn: Connection): Model<SmtpUserDoc> {
  return conn.models.SmtpUser ?? conn.model<SmtpUserDoc>('SmtpUser', schema);
}
