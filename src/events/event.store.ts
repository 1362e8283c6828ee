import type { Connection, Model } from 'mongoose';
import { isDuplicateKeyError } from '../errors';
import { eventModel, type EventDoc } from './event.model';

export class EventStore {
  private readonly model: Model<EventDoc>;

  constructor(conn: Connection) {
    this.model = eventModel(conn);
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
  }

  /** Inserts the event once; a second insert of the same id is a no-op (returns false). */
  async insertOnce(doc: EventDoc): Promise<boolean> {
    try {
      // The driver directly (an event per delivered message: mongoose's document
      // construction showed in the bench's CPU profile); `dispatched` defaults as the schema's.
      await this.model.collection.insertOne({ dispatched: false, ...doc } as never);
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  /** Events not yet fanned out to webhooks, oldest first. */
  async findUndispatched(limit: number): Promise<EventDoc[]> {
    return this.model.find({ dispatched: false }).sort({ createdAt: 1 }).limit(limit).lean<EventDoc[]>();
  }

  async markDispatched(ids: string[]): Promise<void> {
    if (ids.length) await this.model.updateMany({ _id: { $in: ids } }, { $set: { dispatched: true } });
  }

  async findById(id: string): Promise<EventDoc | null> {
    return this.model.findOne({ _id: id }).lean<EventDoc>();
  }

  async listForDomain(domainId: string): Promise<EventDoc[]> {
    return this.model.find({ domainId }).sort({ version: 1 }).lean<EventDoc[]>();
  }
}
