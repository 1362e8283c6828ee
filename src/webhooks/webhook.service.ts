import { isIP } from 'node:net';
import type { Clock } from '../clock';
import type { EventStore } from '../events/event.store';
import type { DomainStore } from '../domains/domain.store';
import { NotFoundError, RateLimitedError, ValidationError } from '../errors';
import { newId } from '../ids';
import type { KeyCipher } from '../keys/key-cipher';
import type { Logger } from '../logger';
import type { JobProducer } from '../queue/producers';
import type { RedisLock } from '../queue/redis-lock';
import type { AccountQuota } from '../limits/account-quota';
import type { FixedWindowLimiter } from '../limits/fixed-window-limiter';
import { generateWebhookSecret } from './webhook-signature';
import { isPublicAddress } from './ssrf-guard';
import type { WebhookDoc } from './webhook.model';
import type { WebhookStore } from './webhook.store';

export const ROTATION_OVERLAP_MS = 24 * 3600_000;
// Longer than one fan-out takes; a dispatcher that dies holding it delays the event, never doubles it.
const DISPATCH_LOCK_TTL_MS = 60_000;

export interface WebhookServiceOptions {
  allowPrivate: boolean;
  retryBaseMs: number;
  /** MAX_WEBHOOKS_PER_ACCOUNT. */
  maxPerAccount: number;
  /** `POST /v1/webhooks/:id/test` per subscription: at most `max` in a window. */
  testLimit: { max: number; windowMs: number };
}

/** A subscription as the API shows it: never a secret after creation. */
export function toWebhookResource(w: WebhookDoc) {
  return {
    id: w._id,
    url: w.url,
    events: w.events,
    domainId: w.domainId,
    status: w.status,
    disabledReason: w.disabledReason,
    consecutiveFailures: w.consecutiveFailures,
    createdAt: new Date(w.createdAt).toISOString(),
  };
}

/** Subscriptions, secrets and the fan-out of durable events to webhook jobs. */
export class WebhookService {
  constructor(
    private readonly store: WebhookStore,
    private readonly events: EventStore,
    private readonly domains: DomainStore,
    private readonly cipher: KeyCipher,
    private readonly producer: JobProducer,
    private readonly lock: RedisLock,
    private readonly quota: AccountQuota,
    private readonly limiter: FixedWindowLimiter,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: WebhookServiceOptions,
    /** Tells workers that cached the account as having no subscription (ChangeNotifier.webhooksChanged). */
    private readonly subscriptionsChanged: (accountId: string) => Promise<void> = async () => {},
  ) {}

  private sealSecret(secret: string, id: string) {
    return { id, sealed: this.cipher.seal(secret, `webhook-secret:${id}`), createdAt: this.clock.now(), expiresAt: null };
  }

  /** The secrets that sign now: the current one, and an old one inside its overlap. */
  openSecrets(w: WebhookDoc): string[] {
    const now = this.clock.now().getTime();
    return w.secrets.filter((s) => !s.expiresAt || new Date(s.expiresAt).getTime() > now).map((s) => this.cipher.open(s.sealed, `webhook-secret:${s.id}`));
  }

  /** Creates a subscription; its `whsec_` secret is returned only here. QuotaExceededError (409) past MAX_WEBHOOKS_PER_ACCOUNT. */
  async create(accountId: string, input: { url: string; events: string[]; domainId?: string }) {
    const host = new URL(input.url).hostname.replace(/^\[|\]$/g, '');
    // Names are vetted when each webhook is sent; an address literal can be refused now.
    if (!this.options.allowPrivate && isIP(host) && !isPublicAddress(host)) {
      throw new ValidationError('url must not point at a private, loopback or link-local address', [{ field: 'url', message: 'points at a non-public address' }]);
    }
    if (input.domainId && !(await this.domains.findForAccount(accountId, input.domainId))) {
      throw new ValidationError('domainId is not a domain of this account', [{ field: 'domainId', message: 'is not a domain of this account' }]);
    }
    const secret = generateWebhookSecret();
    const now = this.clock.now();
    const doc: WebhookDoc = {
      _id: newId('whk', now.getTime()),
      accountId,
      url: input.url,
      events: [...new Set(input.events)],
      domainId: input.domainId ?? null,
      secrets: [this.sealSecret(secret, newId('sec'))],
      status: 'active',
      disabledReason: null,
      consecutiveFailures: 0,
      createdAt: now,
      updatedAt: now,
    };
    await this.quota.admit('webhooks', accountId, this.options.maxPerAccount, {
      count: () => this.store.countForAccount(accountId),
      create: () => this.store.insert(doc),
      undo: async () => void (await this.store.deleteForAccount(accountId, doc._id)),
    });
    await this.subscriptionsChanged(accountId);
    return { ...toWebhookResource(doc), secret };
  }

  async get(accountId: string, id: string): Promise<WebhookDoc> {
    const w = await this.store.findForAccount(accountId, id);
    if (!w) throw new NotFoundError('webhook');
    return w;
  }

  async list(accountId: string) {
    return (await this.store.listForAccount(accountId)).map(toWebhookResource);
  }

  /** A page of the account's webhook's delivery log, newest first; NotFoundError for another account's webhook. */
  async listDeliveries(accountId: string, id: string, limit: number, before?: string) {
    await this.get(accountId, id);
    const docs = await this.store.listDeliveries(accountId, id, limit + 1, before);
    const data = docs.slice(0, limit).map(({ _id, accountId: _a, ...d }) => ({ id: _id, ...d }));
    return { data, nextCursor: docs.length > limit ? docs[limit - 1]._id : null };
  }

  async remove(accountId: string, id: string): Promise<void> {
    if (!(await this.store.deleteForAccount(accountId, id))) throw new NotFoundError('webhook');
    await this.quota.forget('webhooks', accountId);
  }

  /** A new secret; the old one keeps signing (both signatures are sent) for 24 h. */
  async rotateSecret(accountId: string, id: string) {
    const w = await this.get(accountId, id);
    const now = this.clock.now();
    const secret = generateWebhookSecret();
    const old = w.secrets
      .filter((s) => !s.expiresAt || new Date(s.expiresAt) > now)
      .map((s) => ({ ...s, expiresAt: s.expiresAt ?? new Date(now.getTime() + ROTATION_OVERLAP_MS) }));
    await this.store.update(id, { secrets: [this.sealSecret(secret, newId('sec')), ...old], updatedAt: now });
    return { id, secret, previousSecretExpiresAt: new Date(now.getTime() + ROTATION_OVERLAP_MS).toISOString() };
  }

  /** Re-enables a disabled subscription. */
  async enable(accountId: string, id: string) {
    const w = await this.get(accountId, id);
    await this.store.update(id, { status: 'active', disabledReason: null, consecutiveFailures: 0, updatedAt: this.clock.now() });
    await this.subscriptionsChanged(accountId);
    return toWebhookResource({ ...w, status: 'active', disabledReason: null, consecutiveFailures: 0 });
  }

  /** Sends a `webhook.test` event to this subscription only; RateLimitedError (429) past its per-subscription limit. */
  async sendTest(accountId: string, id: string): Promise<{ eventId: string }> {
    const w = await this.get(accountId, id);
    const { max, windowMs } = this.options.testLimit;
    const limit = await this.limiter.hit(`webhook-test:${id}`, max, windowMs);
    if (!limit.allowed) {
      throw new RateLimitedError(`test events were requested too often for this webhook (at most ${max} every ${Math.round(windowMs / 1000)} s)`, Math.max(1, Math.ceil(limit.retryAfterMs / 1000)));
    }
    const now = this.clock.now();
    const eventId = newId('evt', now.getTime());
    await this.events.insertOnce({
      _id: eventId,
      type: 'webhook.test',
      accountId,
      domainId: w.domainId ?? '',
      version: 0,
      data: { webhookId: id, message: 'This is a test event from mailwarden.' },
      createdAt: now,
      dispatched: true,
    });
    await this.producer.enqueueWebhook(eventId, id);
    return { eventId };
  }

  /**
   * Fans one event out to its matching subscriptions: the same account, the type subscribed,
   * and the domain filter when set. The per-event lock and the `dispatched` flag read under
   * it make a second dispatcher of the same event a no-op, so a webhook job that already ran
   * (and was removed) is never added again; the per-(event, webhook) job ids cover the rest.
   * Returns the jobs enqueued, or 'busy' while another dispatcher holds the event.
   */
  async dispatchEvent(eventId: string): Promise<number | 'busy'> {
    const token = await this.lock.acquire(`webhook-dispatch:${eventId}`, DISPATCH_LOCK_TTL_MS);
    if (!token) return 'busy';
    try {
      const e = await this.events.findById(eventId);
      if (!e || e.dispatched) return 0;
      const subs = (await this.store.findSubscribers(e.accountId, e.type)).filter((w) => !w.domainId || w.domainId === e.domainId);
      await this.producer.enqueueWebhooks(e._id, subs.map((w) => w._id));
      await this.events.markDispatched([e._id]);
      if (subs.length) this.logger.debug({ eventId, subscriptions: subs.length }, 'webhook event dispatched');
      return subs.length;
    } finally {
      await this.lock.release(`webhook-dispatch:${eventId}`, token).catch(() => {});
    }
  }

  /**
   * The safety net the sweep triggers: a dispatch job for every event still not fanned out
   * (its own job was lost, or never enqueued), oldest first. Returns how many were found.
   */
  async dispatchPending(batch = 500): Promise<number> {
    const events = await this.events.findUndispatched(batch);
    await this.producer.enqueueWebhookDispatches(events.map((e) => e._id));
    return events.length;
  }
}
