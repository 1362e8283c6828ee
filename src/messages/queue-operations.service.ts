import type { Clock } from '../clock';
import type { ChangeNotifier } from '../events/change-notifier';
import { NotFoundError } from '../errors';
import type { Logger } from '../logger';
import type { JobProducer } from '../queue/producers';
import type { CancelOutcome } from './delivery.service';
import type { MessageStatus } from './message.model';
import { recipientsOf } from './message.resource';
import type { HoldScope } from './queue-hold.model';
import type { QueueHoldStore } from './queue-hold.store';
import type { QueuedMessageStore } from './queued-message.store';
import { isPending, type RecipientStatus } from './recipient-status';

const PAGE = 500;
/** Messages cancelled at once (each waits for its own lock). */
const CANCEL_CONCURRENCY = 8;
/** Destination domains listed by the statistics, most recipients first. */
const TOP_DESTINATIONS = 50;

/** Age buckets of unfinished messages, by the time since they were accepted. */
export const AGE_BUCKETS: ReadonlyArray<{ label: string; maxMs: number }> = [
  { label: '<5m', maxMs: 5 * 60_000 },
  { label: '5m-1h', maxMs: 3_600_000 },
  { label: '1h-6h', maxMs: 6 * 3_600_000 },
  { label: '6h-1d', maxMs: 24 * 3_600_000 },
  { label: '1d-3d', maxMs: 3 * 24 * 3_600_000 },
  { label: '>=3d', maxMs: Infinity },
];

export const MESSAGE_STATUSES: readonly MessageStatus[] = ['queued', 'sending', 'deferred', 'held', 'delivered', 'bounced', 'failed'];

export interface QueueOperationResult {
  scope: HoldScope;
  /** Messages the operation touched: held-to-be, re-enqueued, retried, or cancelled. */
  messages: number;
  /** cancel only: messages still locked by a running attempt after a short wait (cancel again). */
  busy?: number;
}

export interface QueueStats {
  scope: HoldScope | null;
  at: Date;
  byStatus: Record<MessageStatus, number>;
  /** Pending recipients (queued, deferred, held) by destination domain, most first. */
  byDestination: Array<{ domain: string; recipients: number; queued: number; deferred: number; held: number }>;
  /** Unfinished messages by age. */
  byAge: Array<{ age: string; messages: number }>;
  oldestAt: Date | null;
  /** The delivery queue's jobs by state (for the whole queue only). */
  jobs: Record<'waiting' | 'active' | 'delayed' | 'failed', number> | null;
}

/** Whether a hold's target exists (the admin names any account's domain or any account). */
export interface HoldTargets {
  domainExists(id: string): Promise<boolean>;
  accountExists(id: string): Promise<boolean>;
}

/**
 * The operator's handles on the delivery queue (DESIGN §6, `/v1/admin/queue/*`): hold and
 * release the mail of a domain or an account, retry deferred mail now, cancel what is
 * pending, and statistics by status, destination domain and age.
 */
export class QueueOperationsService {
  constructor(
    private readonly messages: QueuedMessageStore,
    private readonly holds: QueueHoldStore,
    private readonly delivery: { cancel(queueId: string): Promise<CancelOutcome> },
    private readonly producer: Pick<JobProducer, 'expediteDeliveries' | 'removeDelivery' | 'deliveryJobCounts'>,
    private readonly notifier: Pick<ChangeNotifier, 'queueHoldsChanged'>,
    private readonly targets: HoldTargets,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /**
   * Holds the scope's mail: from now on no attempt sends it; each pending message turns
   * `held` at its next attempt and its job ends there. Idempotent. Counts the scope's
   * unfinished messages.
   */
  async hold(scope: HoldScope): Promise<QueueOperationResult> {
    await this.mustExist(scope);
    await this.holds.add(scope, this.clock.now());
    await this.notifier.queueHoldsChanged(scope);
    const ids = await this.allIds(scope, ['queued', 'sending', 'deferred', 'held']);
    this.logger.info({ ...scope, messages: ids.length }, 'queue: mail held by an operator');
    return { scope, messages: ids.length };
  }

  /**
   * Lifts the scope's hold and re-enqueues its held messages at once (a message also held
   * by its other scope, account or domain, stays held). Idempotent.
   */
  async release(scope: HoldScope): Promise<QueueOperationResult> {
    await this.mustExist(scope);
    await this.holds.remove(scope);
    await this.notifier.queueHoldsChanged(scope);
    let count = 0;
    await this.eachPage(scope, ['held'], async (ids) => {
      // First the mark, so recovery covers a re-enqueue that Redis loses.
      await this.messages.clearOperatorHold(ids);
      await this.producer.expediteDeliveries(ids);
      count += ids.length;
    });
    this.logger.info({ ...scope, messages: count }, 'queue: hold released, held mail re-enqueued');
    return { scope, messages: count };
  }

  /** Attempts the scope's deferred mail now instead of at its next backoff delay. */
  async retry(scope: HoldScope): Promise<QueueOperationResult> {
    await this.mustExist(scope);
    let count = 0;
    await this.eachPage(scope, ['deferred'], async (ids) => {
      await this.producer.expediteDeliveries(ids);
      count += ids.length;
    });
    this.logger.info({ ...scope, messages: count }, 'queue: deferred mail retried now');
    return { scope, messages: count };
  }

  /**
   * Cancels the scope's unfinished mail: every pending recipient fails with reason
   * `cancelled` and each message gets its events. A message a running attempt holds for
   * longer than a few seconds is counted as `busy`.
   */
  async cancel(scope: HoldScope): Promise<QueueOperationResult> {
    await this.mustExist(scope);
    const ids = await this.allIds(scope, ['queued', 'sending', 'deferred', 'held']);
    let cancelled = 0;
    let busy = 0;
    let next = 0;
    const run = async () => {
      while (next < ids.length) {
        const id = ids[next++];
        const outcome = await this.delivery.cancel(id);
        if (outcome === 'locked') busy++;
        if (outcome !== 'cancelled') continue;
        cancelled++;
        await this.producer.removeDelivery(id);
      }
    };
    await Promise.all(Array.from({ length: CANCEL_CONCURRENCY }, run));
    this.logger.info({ ...scope, cancelled, busy }, 'queue: mail cancelled by an operator');
    return { scope, messages: cancelled, busy };
  }

  /** Statistics of the scope's messages (all messages without a scope). */
  async stats(scope: HoldScope | null): Promise<QueueStats> {
    if (scope) await this.mustExist(scope);
    const now = this.clock.now().getTime();
    const byStatus = Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, 0])) as Record<MessageStatus, number>;
    const ages = AGE_BUCKETS.map(() => 0);
    const destinations = new Map<string, { recipients: number; queued: number; deferred: number; held: number }>();
    let oldest: number | null = null;
    for await (const m of this.messages.unfinished(scope)) {
      byStatus[m.status] += 1;
      const created = new Date(m.createdAt).getTime();
      oldest = oldest === null ? created : Math.min(oldest, created);
      ages[AGE_BUCKETS.findIndex((b) => now - created < b.maxMs)] += 1;
      for (const r of recipientsOf(m)) {
        if (!isPending(r.status)) continue;
        const domain = r.address.slice(r.address.lastIndexOf('@') + 1).toLowerCase();
        const d = destinations.get(domain) ?? { recipients: 0, queued: 0, deferred: 0, held: 0 };
        d.recipients += 1;
        d[r.status as Extract<RecipientStatus, 'queued' | 'deferred' | 'held'>] += 1;
        destinations.set(domain, d);
      }
    }
    for (const s of ['delivered', 'bounced', 'failed'] as const) byStatus[s] = await this.messages.count(scope, s);
    const byDestination = [...destinations.entries()]
      .map(([domain, d]) => ({ domain, ...d }))
      .sort((a, b) => b.recipients - a.recipients || a.domain.localeCompare(b.domain))
      .slice(0, TOP_DESTINATIONS);
    return {
      scope,
      at: new Date(now),
      byStatus,
      byDestination,
      byAge: AGE_BUCKETS.map((b, i) => ({ age: b.label, messages: ages[i] })),
      oldestAt: oldest === null ? null : new Date(oldest),
      jobs: scope ? null : await this.producer.deliveryJobCounts(),
    };
  }

  private async mustExist(scope: HoldScope): Promise<void> {
    if ('domainId' in scope) {
      if (!(await this.targets.domainExists(scope.domainId))) throw new NotFoundError('domain');
    } else if (!(await this.targets.accountExists(scope.accountId))) {
      throw new NotFoundError('account');
    }
  }

  private async eachPage(scope: HoldScope, statuses: MessageStatus[], fn: (ids: string[]) => Promise<void>): Promise<void> {
    let after: string | null = null;
    for (;;) {
      const ids = await this.messages.findIds(scope, statuses, after, PAGE);
      if (ids.length > 0) await fn(ids);
      if (ids.length < PAGE) return;
      after = ids[ids.length - 1];
    }
  }

  private async allIds(scope: HoldScope, statuses: MessageStatus[]): Promise<string[]> {
    const all: string[] = [];
    await this.eachPage(scope, statuses, async (ids) => void all.push(...ids));
    return all;
  }
}
