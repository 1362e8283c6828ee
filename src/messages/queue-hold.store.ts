import type { Connection, Model } from 'mongoose';
import { isDuplicateKeyError } from '../errors';
import { holdKey, queueHoldModel, type HoldScope, type QueueHoldDoc } from './queue-hold.model';

/** Operator holds (source of truth; the worker keeps a snapshot of them, see QueueHolds). */
export class QueueHoldStore {
  private readonly model: Model<QueueHoldDoc>;

  constructor(conn: Connection) {
    this.model = queueHoldModel(conn);
  }

  /** Adds the hold; false when the scope was held already. */
  async add(scope: HoldScope, now: Date): Promise<boolean> {
    const kind = 'domainId' in scope ? 'domain' : 'account';
    const targetId = 'domainId' in scope ? scope.domainId : scope.accountId;
    try {
      await this.model.collection.insertOne({ _id: holdKey(scope), kind, targetId, createdAt: now } as never);
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  /** Removes the hold; false when there was none. */
  async remove(scope: HoldScope): Promise<boolean> {
    const res = await this.model.deleteOne({ _id: holdKey(scope) });
    return res.deletedCount === 1;
  }

  /** Every hold's key: a handful in practice, so the worker keeps them all. */
  async keys(): Promise<string[]> {
    const docs = await this.model.find({}, { _id: 1 }).lean<Array<{ _id: string }>>();
    return docs.map((d) => d._id);
  }
}
