import type { Connection, Model } from 'mongoose';
import { domainModel, type DomainDoc } from './domain.model';

/** Every query is scoped by account; another account's domain simply does not exist here. */
export class DomainStore {
  private readonly model: Model<DomainDoc>;

  constructor(conn: Connection) {
    this.model = domainModel(conn);
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
  }

  /** Inserts a new domain; a duplicate (accountId, domain) rejects with code 11000. */
  async insert(doc: DomainDoc): Promise<void> {
    await this.model.create(doc);
  }

  async findForAccount(accountId: string, id: string): Promise<DomainDoc | null> {
    return this.model.findOne({ _id: id, accountId }).lean<DomainDoc>();
  }

  /** A page of the account's domains in id (creation) order, after the cursor. */
  async listForAccount(accountId: string, limit: number, after?: string): Promise<DomainDoc[]> {
    const filter: Record<string, unknown> = { accountId };
    if (after) filter._id = { $gt: after };
    return this.model.find(filter).sort({ _id: 1 }).limit(limit).lean<DomainDoc[]>();
  }

  /** Deletes the account's domain; false when there was none. */
  async deleteForAccount(accountId: string, id: string): Promise<boolean> {
    const res = await this.model.deleteOne({ _id: id, accountId });
    return res.deletedCount === 1;
  }
}
