import type { Connection, Model } from 'mongoose';
import { messageModel, type MessageDoc } from './message.model';

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
    await this.model.create(doc);
  }

  async findById(id: string): Promise<MessageDoc | null> {
    return this.model.findOne({ _id: id }).lean<MessageDoc>();
  }

  async findForAccount(accountId: string, id: string): Promise<MessageDoc | null> {
    return this.model.findOne({ _id: id, accountId }).lean<MessageDoc>();
  }
}
