import type { Connection, Model } from 'mongoose';
import { accountModel, type AccountDoc } from './account.model';

export interface Account {
  id: string;
  name: string;
  createdAt: Date;
}

function toAccount(doc: AccountDoc): Account {
  return { id: doc._id, name: doc.name, createdAt: doc.createdAt };
}

export class AccountStore {
  private readonly model: Model<AccountDoc>;

  constructor(conn: Connection) {
    this.model = accountModel(conn);
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
  }

  async insert(doc: AccountDoc): Promise<Account> {
    await this.model.create(doc);
    return toAccount(doc);
  }

  async findByKeyHash(apiKeyHash: string): Promise<Account | null> {
    const doc = await this.model.findOne({ apiKeyHash }).lean<AccountDoc>();
    return doc ? toAccount(doc) : null;
  }

  async findById(id: string): Promise<Account | null> {
    const doc = await this.model.findOne({ _id: id }).lean<AccountDoc>();
    return doc ? toAccount(doc) : null;
  }
}
