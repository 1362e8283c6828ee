import type { Connection, Model } from 'mongoose';
import { suppressionModel, type SuppressionDoc } from './suppression.model';

/** The fields an upsert of an existing entry may set. */
export type SuppressionUpdate = Partial<Pick<SuppressionDoc, 'reason' | 'reply' | 'createdAt' | 'updatedAt' | 'expiresAt'>>;

/** Entries still in force at `now` (expiry is applied in code, never by an index). */
const activeAt = (now: Date) => ({ $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }] });

/** Suppression lists; every query is scoped by account. */
export class SuppressionStore {
  private readonly model: Model<SuppressionDoc>;

  constructor(conn: Connection) {
    this.model = suppressionModel(conn);
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
  }

  /** Inserts an entry; one for the same (accountId, address) rejects with code 11000. */
  async insert(doc: SuppressionDoc): Promise<void> {
    await this.model.create(doc);
  }

  /** The account's entry for a normalised address, expired or not. */
  async find(accountId: string, address: string): Promise<SuppressionDoc | null> {
    return this.model.findOne({ accountId, address }).lean<SuppressionDoc>();
  }

  /** Sets fields of the account's entry; the entry as written, or null when there is none. */
  async update(accountId: string, address: string, set: SuppressionUpdate): Promise<SuppressionDoc | null> {
    return this.model.findOneAndUpdate({ accountId, address }, { $set: set }, { new: true }).lean<SuppressionDoc>();
  }

  /** A page of the account's entries in force at `now`, in address order, after the cursor address. */
  async list(accountId: string, now: Date, limit: number, after?: string): Promise<SuppressionDoc[]> {
    const filter: Record<string, unknown> = { accountId, ...activeAt(now) };
    if (after !== undefined) filter.address = { $gt: after };
    return this.model.find(filter).sort({ address: 1 }).limit(limit).lean<SuppressionDoc[]>();
  }

  /** Deletes the account's entry for the address; the deleted entry, or null when there was none. */
  async remove(accountId: string, address: string): Promise<SuppressionDoc | null> {
    return this.model.findOneAndDelete({ accountId, address }).lean<SuppressionDoc>();
  }
}
