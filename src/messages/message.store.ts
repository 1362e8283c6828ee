import type { Connection, Model } from 'mongoose';
import { messageModel, type DeliveryAttempt, type MessageDoc, type MessageHold, type MessageStatus, type RecipientState } from './message.model';

/** What one attempt changes: the derived status and the recipients it decided about, by index. */
export interface AttemptChanges {
  status: MessageStatus;
  updatedAt: Date;
  deliveredAt?: Date;
  captured?: Buffer;
  hold?: MessageHold | null;
  /** The whole list, for a message spooled before per-recipient status (it has none stored). */
  recipients?: RecipientState[];
  /** Changed recipients by their index in the stored list. */
  recipientsAt?: Map<number, RecipientState>;
}

export class MessageStore {
  private readonly model: Model<MessageDoc>;

  constructor(conn: Connection) {
    this.model = messageModel(conn);
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
  }

  /** Spools an accepted message; it must be durable before the client hears 250. */
  async insert(doc: MessageDoc): Promise<void> {
    // The relay builds the document fully typed; skipping mongoose's casting and
    // validation is measurable on the per-message path (bench:relay).
    await this.model.collection.insertOne(doc as never);
  }

  /**
   * Spools several accepted messages in one unordered, journaled insert (the relay's group
   * commit, SpoolWriter). Returns each document's outcome in order: null once it is durable,
   * or its own write error (a duplicate _id keeps code 11000); throws when the batch failed
   * as a whole (the connection, or the write concern), since then no document is known durable.
   */
  async insertBatch(docs: MessageDoc[]): Promise<Array<Error | null>> {
    const outcomes: Array<Error | null> = docs.map(() => null);
    try {
      await this.model.collection.insertMany(docs as never[], { ordered: false, writeConcern: { j: true } });
    } catch (err) {
      const bulk = err as { writeErrors?: unknown; writeConcernError?: unknown; result?: { hasWriteConcernError?: () => boolean } };
      const writeErrors = bulk.writeErrors === undefined ? [] : ([] as Array<{ index: number; code: number; errmsg?: string }>).concat(bulk.writeErrors as never);
      if (writeErrors.length === 0 || bulk.writeConcernError || bulk.result?.hasWriteConcernError?.()) throw err;
      for (const w of writeErrors) outcomes[w.index] = Object.assign(new Error(w.errmsg ?? `spool insert failed (code ${w.code})`), { code: w.code });
    }
    return outcomes;
  }

  /** Removes a spooled message that was never acknowledged to the client. */
  async remove(id: string): Promise<void> {
    await this.model.deleteOne({ _id: id });
  }

  async findById(id: string): Promise<MessageDoc | null> {
    return this.model.findOne({ _id: id }).lean<MessageDoc>();
  }

  async findForAccount(accountId: string, id: string): Promise<MessageDoc | null> {
    return this.model.findOne({ _id: id, accountId }).lean<MessageDoc>();
  }

  /** The message with `raw` and `captured` as Buffers (lean reads give BSON Binary). */
  async findForDelivery(id: string): Promise<MessageDoc | null> {
    const doc = await this.model.findOne({ _id: id }).lean<MessageDoc>();
    return doc && { ...doc, raw: asBuffer(doc.raw)!, captured: asBuffer(doc.captured) };
  }

  /** The account's message without its bytes: the status resource needs none of them. */
  async findSummaryForAccount(accountId: string, id: string): Promise<Omit<MessageDoc, 'raw' | 'captured'> | null> {
    return this.model.findOne({ _id: id, accountId }, { raw: 0, captured: 0 }).lean<Omit<MessageDoc, 'raw' | 'captured'>>();
  }

  /** Any account's message without its bytes (the bounce intake). */
  async findSummaryById(id: string): Promise<Omit<MessageDoc, 'raw' | 'captured'> | null> {
    return this.model.findOne({ _id: id }, { raw: 0, captured: 0 }).lean<Omit<MessageDoc, 'raw' | 'captured'>>();
  }

  /** The signed message kept in capture mode; null when there is none (yet). */
  async findCaptured(accountId: string, id: string): Promise<Buffer | null> {
    const doc = await this.model.findOne({ _id: id, accountId }, { captured: 1 }).lean<Pick<MessageDoc, 'captured'>>();
    return asBuffer(doc?.captured ?? null);
  }

  /** Moves a message that is not finished yet to `sending` (a hold ends); false when it is finished (or gone). */
  async markSending(id: string, now: Date): Promise<boolean> {
    const res = await this.model.updateOne(
      { _id: id, status: { $in: ['queued', 'deferred', 'held', 'sending'] } },
      { $set: { status: 'sending', hold: null, updatedAt: now } },
    );
    return res.matchedCount === 1;
  }

  /**
   * Appends one attempt and applies its outcome in a single-document write. A finished
   * message is never rewritten (a second guard: the per-message lock is the first).
   */
  async recordAttempt(id: string, attempt: DeliveryAttempt, changes: AttemptChanges): Promise<boolean> {
    const { recipientsAt, ...rest } = changes;
    const set: Record<string, unknown> = { ...rest };
    for (const [i, r] of recipientsAt ?? []) set[`recipients.${i}`] = r;
    // The driver directly: every value is built typed by DeliveryService, and mongoose's
    // casting of this per-message update showed in the bench's CPU profile.
    const res = await this.model.collection.updateOne({ _id: id, status: { $nin: ['delivered', 'bounced', 'failed'] } } as never, {
      $push: { attempts: attempt },
      $set: set,
    } as never);
    return res.matchedCount === 1;
  }

  /**
   * What a report about a sent message changes (the bounce intake): recipients by index and,
   * unless an attempt is running, the derived status. Finished messages are updated too: a
   * bounce or complaint arrives after delivery.
   */
  async recordReport(id: string, changes: { status?: MessageStatus; updatedAt: Date; recipientsAt: Map<number, RecipientState> }): Promise<boolean> {
    const set: Record<string, unknown> = { updatedAt: changes.updatedAt, ...(changes.status ? { status: changes.status } : {}) };
    for (const [i, r] of changes.recipientsAt) set[`recipients.${i}`] = r;
    const res = await this.model.updateOne({ _id: id }, { $set: set });
    return res.matchedCount === 1;
  }

  /** Marks an unfinished message failed without an attempt (no key to sign with, retries spent). */
  async markFailed(id: string, now: Date): Promise<boolean> {
    const res = await this.model.updateOne(
      { _id: id, status: { $nin: ['delivered', 'bounced', 'failed'] } },
      { $set: { status: 'failed', updatedAt: now } },
    );
    return res.matchedCount === 1;
  }

  /**
   * Ids of the domain's held messages after `afterId`, in id order: one page of an
   * index range on {domainId, status, _id}.
   */
  async findHeldIds(domainId: string, afterId: string | null, limit: number): Promise<string[]> {
    const docs = await this.model
      .find({ domainId, status: 'held', ...(afterId ? { _id: { $gt: afterId } } : {}) }, { _id: 1 })
      .sort({ domainId: 1, status: 1, _id: 1 })
      .limit(limit)
      .lean<Array<{ _id: string }>>();
    return docs.map((d) => d._id);
  }

  /**
   * Ids of messages in `status` untouched since `olderThan`, oldest first: an equality and a
   * range on the {status, updatedAt} index, so a run costs O(stuck), not O(all messages).
   */
  async findStale(status: MessageStatus, olderThan: Date, limit: number): Promise<string[]> {
    const docs = await this.model
      // An operator's hold waits for its release, however long: no job to re-add.
      .find({ status, updatedAt: { $lte: olderThan }, 'hold.operator': { $ne: true } }, { _id: 1 })
      .sort({ status: 1, updatedAt: 1 })
      .limit(limit)
      .lean<Array<{ _id: string }>>();
    return docs.map((d) => d._id);
  }
}

/** A Buffer from whatever a lean read returned for a Buffer path (Buffer or BSON Binary). */
function asBuffer(value: unknown): Buffer | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  // BSON Binary: `buffer` may be larger than the value, which ends at `position`.
  const binary = value as { buffer?: Uint8Array; position?: number };
  if (binary.buffer instanceof Uint8Array) {
    const bytes = typeof binary.position === 'number' ? binary.buffer.subarray(0, binary.position) : binary.buffer;
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  throw new TypeError('not a binary value');
}
