import type { Connection, Model } from 'mongoose';
import { checkModel, type CheckDoc } from './check.model';

export class CheckStore {
  private readonly model: Model<CheckDoc>;

  constructor(conn: Connection) {
    this.model = checkModel(conn);
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
  }

  async insert(doc: CheckDoc): Promise<void> {
    await this.model.create(doc);
  }

  /** The account's checks of one domain, newest first, before the cursor. */
  async listForDomain(accountId: string, domainId: string, limit: number, before?: string): Promise<CheckDoc[]> {
    const filter: Record<string, unknown> = { accountId, domainId };
    if (before) filter._id = { $lt: before };
    return this.model.find(filter).sort({ _id: -1 }).limit(limit).lean<CheckDoc[]>();
  }

  /** Prunes checks older than `cutoff` (in code: TTL indexes are not portable to FerretDB v1). */
  async deleteOlderThan(cutoff: Date): Promise<number> {
    return (await this.model.deleteMany({ createdAt: { $lt: cutoff } })).deletedCount;
  }

  /** Keeps the newest `keep` checks of a domain and deletes the rest. */
  async trimDomain(domainId: string, keep: number): Promise<number> {
    const boundary = await this.model.find({ domainId }, { _id: 1 }).sort({ _id: -1 }).skip(keep - 1).limit(1).lean<Array<{ _id: string }>>();
    if (boundary.length === 0) return 0;
    return (await this.model.deleteMany({ domainId, _id: { $lt: boundary[0]._id } })).deletedCount;
  }

  async deleteForDomain(domainId: string): Promise<void> {
    await this.model.deleteMany({ domainId });
  }
}
