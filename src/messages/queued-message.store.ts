import type { Connection, Model } from 'mongoose';
import { messageModel, type MessageDoc, type MessageStatus } from './message.model';
import type { HoldScope } from './queue-hold.model';

/** The statuses of a message that is not finished. */
const UNFINISHED: MessageStatus[] = ['queued', 'sending', 'deferred', 'held'];

/** What queue statistics read of an unfinished message: no bytes. */
export type QueuedMessageView = Pick<MessageDoc, '_id' | 'status' | 'createdAt' | 'recipients' | 'envelope'>;

/** Queue operations over the messages of a domain or an account (QueueOperationsService). */
export class QueuedMessageStore {
  private readonly model: Model<MessageDoc>;

  constructor(conn: Connection) {
    this.model = messageModel(conn);
  }

  /**
   * Ids of the scope's messages in one of `statuses` after `afterId`, in id order: one
   * page of an index range on {domainId|accountId, status, _id}.
   */
  async findIds(scope: HoldScope, statuses: MessageStatus[], afterId: string | null, limit: number): Promise<string[]> {
    const docs = await this.model
      .find({ ...scope, status: { $in: statuses }, ...(afterId ? { _id: { $gt: afterId } } : {}) }, { _id: 1 })
      .sort({ _id: 1 })
      .limit(limit)
      .lean<Array<{ _id: string }>>();
    return docs.map((d) => d._id);
  }

  /**
   * Ids of every message in `status` after `afterId` (untouched since `updatedBefore` when
   * given), in id order, leaving out the operator's holds: one page of a queue rebuild.
   */
  async findAnyIds(status: MessageStatus, afterId: string | null, limit: number, updatedBefore?: Date): Promise<string[]> {
    const docs = await this.model
      .find(
        { status, 'hold.operator': { $ne: true }, ...(updatedBefore ? { updatedAt: { $lt: updatedBefore } } : {}), ...(afterId ? { _id: { $gt: afterId } } : {}) },
        { _id: 1 },
      )
      .sort({ _id: 1 })
      .limit(limit)
      .lean<Array<{ _id: string }>>();
    return docs.map((d) => d._id);
  }

  /** The operator's hold is lifted from these messages: recovery may re-add their jobs again. */
  async clearOperatorHold(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.model.updateMany({ _id: { $in: ids }, status: 'held', 'hold.operator': true }, { $set: { 'hold.operator': false } });
  }

  /** How many of the scope's messages (every message without one) are in `status`. */
  async count(scope: HoldScope | null, status: MessageStatus): Promise<number> {
    return this.model.countDocuments({ ...(scope ?? {}), status });
  }

  /** Every unfinished message of the scope (every one without), without its bytes, one at a time. */
  async *unfinished(scope: HoldScope | null): AsyncGenerator<QueuedMessageView> {
    const cursor = this.model
      .find({ ...(scope ?? {}), status: { $in: UNFINISHED } }, { status: 1, createdAt: 1, recipients: 1, envelope: 1 })
      .lean<QueuedMessageView[]>()
      .cursor({ batchSize: 500 });
    for await (const doc of cursor) yield doc as QueuedMessageView;
  }
}

