import { Schema, type Connection, type Model } from 'mongoose';
import type { SealedSecret } from '../keys/key-cipher';

/** A signing secret; during a rotation the old one signs too until it expires. */
export interface WebhookSecretDoc {
  id: string;
  /** The `whsec_…` secret, sealed under MASTER_KEY (it must be usable to sign). */
  sealed: SealedSecret;
  createdAt: Date;
  expiresAt: Date | null;
}

export interface WebhookDoc {
  _id: string;
  accountId: string;
  url: string;
  events: string[];
  domainId: string | null;
  secrets: WebhookSecretDoc[];
  status: 'active' | 'disabled';
  disabledReason: string | null;
  consecutiveFailures: number;
  createdAt: Date;
  updatedAt: Date;
}

/** One delivery attempt of one event to one subscription. */
export interface WebhookDeliveryDoc {
  _id: string;
  webhookId: string;
  accountId: string;
  eventId: string;
  type: string;
  attempt: number;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  outcome: 'delivered' | 'retrying' | 'failed' | 'disabled';
  createdAt: Date;
}

const webhookSchema = new Schema<WebhookDoc>(
  {
    _id: { type: String, required: true },
    accountId: { type: String, required: true },
    url: { type: String, required: true },
    events: { type: [String], required: true },
    domainId: { type: String, default: null },
    secrets: { type: Schema.Types.Mixed, required: true },
    status: { type: String, required: true },
    disabledReason: { type: String, default: null },
    consecutiveFailures: { type: Number, default: 0 },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'webhooks', minimize: false },
);
// Fan-out looks subscriptions up by account; listing pages by id within it.
webhookSchema.index({ accountId: 1, _id: 1 });

const deliverySchema = new Schema<WebhookDeliveryDoc>(
  {
    _id: { type: String, required: true },
    webhookId: { type: String, required: true },
    accountId: { type: String, required: true },
    eventId: { type: String, required: true },
    type: { type: String, required: true },
    attempt: { type: Number, required: true },
    statusCode: { type: Number, default: null },
    latencyMs: { type: Number, required: true },
    error: { type: String, default: null },
    outcome: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'webhook_deliveries' },
);
deliverySchema.index({ webhookId: 1, _id: -1 });

export function webhookModel(conn: Connection): Model<WebhookDoc> {
  return conn.models.Webhook ?? conn.model<WebhookDoc>('Webhook', webhookSchema);
}

export function webhookDeliveryModel(conn: Connection): Model<WebhookDeliveryDoc> {
  return conn.models.WebhookDelivery ?? conn.model<WebhookDeliveryDoc>('WebhookDelivery', deliverySchema);
}
