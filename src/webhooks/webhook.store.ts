import type { Connection, Model } from 'mongoose';
import { webhookDeliveryModel, webhookModel, type WebhookDeliveryDoc, type WebhookDoc } from './webhook.model';

/** Subscriptions and their delivery log; every account-facing query is scoped by account. */
export class WebhookStore {
  private readonly model: Model<WebhookDoc>;
  private readonly deliveries: Model<WebhookDeliveryDoc>;

  constructor(conn: Connection) {
    this.model = webhookModel(conn);
    this.deliveries = webhookDeliveryModel(conn);
  }

  async init(): Promise<void> {
    await Promise.all([this.model.createIndexes(), this.deliveries.createIndexes()]);
  }

  async insert(doc: WebhookDoc): Promise<void> {
    await this.model.create(doc);
  }

  /** How many subscriptions the account has. */
  async countForAccount(accountId: string): Promise<number> {
    return this.model.countDocuments({ accountId });
  }

  async findForAccount(accountId: string, id: string): Promise<WebhookDoc | null> {
    return this.model.findOne({ _id: id, accountId }).lean<WebhookDoc>();
  }

  async findById(id: string): Promise<WebhookDoc | null> {
    return this.model.findOne({ _id: id }).lean<WebhookDoc>();
  }

  async listForAccount(accountId: string): Promise<WebhookDoc[]> {
    return this.model.find({ accountId }).sort({ _id: 1 }).lean<WebhookDoc[]>();
  }

  /** Whether the account has any active subscription (whatever its event types). */
  async hasActive(accountId: string): Promise<boolean> {
    return (await this.model.findOne({ accountId, status: 'active' }, { _id: 1 }).lean()) !== null;
  }

  /** Active subscriptions of the account that want this event type. */
  async findSubscribers(accountId: string, type: string): Promise<WebhookDoc[]> {
    return this.model.find({ accountId, status: 'active', events: type }).lean<WebhookDoc[]>();
  }

  async deleteForAccount(accountId: string, id: string): Promise<boolean> {
    const res = await this.model.deleteOne({ _id: id, accountId });
    if (res.deletedCount === 1) await this.deliveries.deleteMany({ webhookId: id });
    return res.deletedCount === 1;
  }

  async update(id: string, set: Partial<WebhookDoc>): Promise<void> {
    await this.model.updateOne({ _id: id }, { $set: set });
  }

  async recordDelivery(doc: WebhookDeliveryDoc): Promise<void> {
    await this.deliveries.create(doc);
  }

  async listDeliveries(accountId: string, webhookId: string, limit: number, before?: string): Promise<WebhookDeliveryDoc[]> {
    const filter: Record<string, unknown> = { accountId, webhookId };
    if (before) filter._id = { $lt: before };
    return this.deliveries.find(filter).sort({ _id: -1 }).limit(limit).lean<WebhookDeliveryDoc[]>();
  }
}
