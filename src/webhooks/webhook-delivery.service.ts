import type { Clock } from '../clock';
import type { EventStore } from '../events/event.store';
import { newId } from '../ids';
import type { WebhookMetrics } from '../http/metrics';
import type { Logger } from '../logger';
import { sendWebhook, WebhookUrlRefusedError, type HostLookup } from './ssrf-guard';
import { webhookHeaders } from './webhook-signature';
import type { WebhookService } from './webhook.service';
import type { WebhookStore } from './webhook.store';

/** The delivery will not be retried (410, a refused URL, or the last attempt). */
export class WebhookGaveUpError extends Error {}

export interface WebhookDeliveryOptions {
  allowPrivate: boolean;
  disableAfterFailures: number;
  timeoutMs: number;
  maxResponseBytes: number;
  /** Host resolution at send time (default: the system resolver); tests point it at their DNS. */
  lookup?: HostLookup;
  /** Attempts by outcome (mailwarden_webhook_deliveries_total). */
  metrics?: WebhookMetrics;
}

export type WebhookOutcome = 'delivered' | 'skipped';

/** Sends one event to one subscription, signed per Standard Webhooks, and logs the attempt. */
export class WebhookDeliveryService {
  constructor(
    private readonly store: WebhookStore,
    private readonly events: EventStore,
    private readonly webhooks: WebhookService,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: WebhookDeliveryOptions,
  ) {}

  /**
   * One attempt. Throws a plain Error to be retried with backoff, WebhookGaveUpError when
   * retrying cannot help; returns 'skipped' for a deleted or disabled subscription.
   */
  async deliver(eventId: string, webhookId: string, attempt: { attemptsMade: number; maxAttempts: number }): Promise<WebhookOutcome> {
    const w = await this.store.findById(webhookId);
    const event = await this.events.findById(eventId);
    if (!w || w.status !== 'active' || !event) return 'skipped';
    const body = JSON.stringify({ type: event.type, timestamp: new Date(event.createdAt).toISOString(), version: event.version, data: event.data });
    const headers = webhookHeaders(this.webhooks.openSecrets(w), eventId, Math.floor(this.clock.now().getTime() / 1000), body);
    const last = attempt.attemptsMade + 1 >= attempt.maxAttempts;
    const log = (outcome: 'delivered' | 'retrying' | 'failed' | 'disabled', statusCode: number | null, latencyMs: number, error: string | null) => {
      this.options.metrics?.webhookDeliveries.inc({ outcome });
      return this.store.recordDelivery({
        _id: newId('wdl'),
        webhookId,
        accountId: w.accountId,
        eventId,
        type: event.type,
        attempt: attempt.attemptsMade + 1,
        statusCode,
        latencyMs: Math.round(latencyMs),
        error,
        outcome,
        createdAt: this.clock.now(),
      });
    };

    let status: number;
    let latencyMs = 0;
    try {
      const res = await sendWebhook({
        url: w.url,
        body,
        headers: { ...headers },
        timeoutMs: this.options.timeoutMs,
        maxResponseBytes: this.options.maxResponseBytes,
        allowPrivate: this.options.allowPrivate,
        lookup: this.options.lookup,
      });
      status = res.status;
      latencyMs = res.latencyMs;
    } catch (err) {
      const message = (err as Error).message;
      if (err instanceof WebhookUrlRefusedError) {
        await log('failed', null, 0, `refused: ${err.reason}`);
        await this.countFailure(w._id, w.consecutiveFailures);
        throw new WebhookGaveUpError(`webhook URL refused: ${message}`);
      }
      await log(last ? 'failed' : 'retrying', null, latencyMs, message);
      if (last) await this.countFailure(w._id, w.consecutiveFailures);
      throw new (last ? WebhookGaveUpError : Error)(`webhook delivery failed: ${message}`);
    }

    if (status >= 200 && status < 300) {
      await log('delivered', status, latencyMs, null);
      if (w.consecutiveFailures) await this.store.update(w._id, { consecutiveFailures: 0 });
      return 'delivered';
    }
    if (status === 410) {
      await log('disabled', status, latencyMs, '410 Gone: the subscription was disabled');
      await this.store.update(w._id, { status: 'disabled', disabledReason: 'the endpoint answered 410 Gone', updatedAt: this.clock.now() });
      throw new WebhookGaveUpError('410 Gone');
    }
    await log(last ? 'failed' : 'retrying', status, latencyMs, `HTTP ${status}`);
    if (last) await this.countFailure(w._id, w.consecutiveFailures);
    throw new (last ? WebhookGaveUpError : Error)(`webhook endpoint answered ${status}`);
  }

  /** One more event that could not be delivered; N in a row disable the subscription. */
  private async countFailure(id: string, before: number): Promise<void> {
    const failures = before + 1;
    const disable = failures >= this.options.disableAfterFailures;
    await this.store.update(id, {
      consecutiveFailures: failures,
      ...(disable ? { status: 'disabled' as const, disabledReason: `${failures} events in a row could not be delivered` } : {}),
      updatedAt: this.clock.now(),
    });
    if (disable) this.logger.warn({ webhookId: id, failures }, 'webhook subscription disabled');
  }
}
