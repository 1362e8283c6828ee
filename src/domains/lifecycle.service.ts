import type { Clock } from '../clock';
import { NotFoundError, RateLimitedError } from '../errors';
import { newId } from '../ids';
import type { FixedWindowLimiter } from '../limits/fixed-window-limiter';
import type { Logger } from '../logger';
import type { JobProducer } from '../queue/producers';
import type { RedisLock } from '../queue/redis-lock';
import type { DnsVerifier } from '../verification/dns-verifier';
import type { CheckStore } from '../verification/check.store';
import { domainLockKey, withDomainLock } from './domain-lock';
import { applyCheck, INITIAL_CHECK_STATE, reopen, type DomainEventType, type StateDomain, type StatePolicy } from './domain-state';
import { applyRotation, checkedSelectors, domainVerdict, rotatableSince, type RotationPolicy } from './dkim-rotation';
import type { VerificationResult } from '../verification/verification-result';
import type { DomainDoc, RecordStateDoc } from './domain.model';
import { toDomainEventView, toDomainResource, type DomainResource } from './domain.resource';
import type { DomainStore } from './domain.store';
import { applyReturnPathCheck, earlier, type ReturnPathDoc } from './return-path';
import type { ChangeNotifier } from '../events/change-notifier';
import type { EventStore } from '../events/event.store';
import type { CheckMetrics } from '../http/metrics';

export interface LifecycleOptions {
  policy: StatePolicy;
  propagationWindowMs: number;
  sweepBatchSize: number;
  /** Check history kept: by age, and by count per domain. */
  retention: { maxAgeMs: number; perDomain: number };
  verifyLimit: { max: number; windowMs: number };
  /** DKIM key rotation (dkim-rotation.ts). */
  rotation: RotationPolicy;
  /** Checks by verdict and their duration (mailwarden_checks_total, mailwarden_check_duration_seconds). */
  metrics?: CheckMetrics;
  /** RETURN_PATH_MX_HOST: what a return-path subdomain's MX must name. */
  returnPathMxHost?: string;
}

export type CheckOutcome = 'checked' | 'locked' | 'gone' | 'stale';

const LOCK_TTL_MS = 60_000;
const OUTBOX_GRACE_MS = 30_000;

/**
 * Runs checks through the state machine, writes history and events, and schedules
 * the next check (DESIGN §2 steps 2–4, §3).
 */
export class LifecycleService {
  constructor(
    private readonly domains: DomainStore,
    private readonly checks: CheckStore,
    private readonly events: EventStore,
    private readonly verifier: DnsVerifier,
    private readonly lock: RedisLock,
    private readonly limiter: FixedWindowLimiter,
    private readonly producer: JobProducer,
    private readonly notifier: ChangeNotifier,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: LifecycleOptions,
  ) {}

  /** One sweep: enqueues a dns-check for every due domain, in batches; returns how many were due. */
  async sweep(): Promise<number> {
    const now = this.clock.now();
    let cursor: { nextCheckAt: Date; id: string } | undefined;
    let due = 0;
    const size = this.options.sweepBatchSize;
    for (;;) {
      // One more than a batch tells whether another query is needed without running it.
      const found = await this.domains.findDue(now, size + 1, cursor);
      const batch = found.slice(0, size);
      if (batch.length === 0) break;
      due += batch.length;
      // BullMQ's atomic jobId dedup keeps two sweepers from doubling a check.
      await this.producer.enqueueChecks(batch.map((d) => ({ domainId: d._id, nextCheckAt: d.nextCheckAt })));
      const last = batch[batch.length - 1];
      cursor = { nextCheckAt: last.nextCheckAt, id: last._id };
      if (found.length <= size) break;
    }
    return due;
  }

  /**
   * Housekeeping, run by the sweeper at most once a minute: republishes outboxes a crash
   * left behind, and prunes check history (in code: FerretDB v1 has no TTL indexes).
   */
  async maintain(): Promise<{ republished: number; pruned: number }> {
    const now = this.clock.now();
    // A live worker clears its own outbox within moments; older ones were left by a crash.
    const stuck = await this.domains.findWithOutbox(new Date(now.getTime() - OUTBOX_GRACE_MS), 100);
    for (const d of stuck) {
      // Under the domain's lock, like every domain write; a domain being checked now is left to that check.
      const token = await this.lock.acquire(domainLockKey(d._id), LOCK_TTL_MS);
      if (!token) continue;
      try {
        await this.publishOutbox(d);
      } finally {
        await this.lock.release(domainLockKey(d._id), token).catch(() => {});
      }
    }
    const pruned = await this.checks.deleteOlderThan(new Date(now.getTime() - this.options.retention.maxAgeMs));
    return { republished: stuck.length, pruned };
  }

  /** Checks one domain now, under its lock. */
  async check(domainId: string, trigger: 'scheduled' | 'verify'): Promise<CheckOutcome> {
    const token = await this.lock.acquire(domainLockKey(domainId), LOCK_TTL_MS);
    if (!token) return 'locked';
    // Every line about this check names its domain.
    const log = this.logger.child({ domainId });
    try {
      const d = await this.domains.findById(domainId);
      if (!d) return 'gone';
      if (d.status === 'failed') return 'stale';
      const target = { domain: d.domain, spfInclude: d.spfInclude, selectors: checkedSelectors(d.dkim) };
      const state = { ...d, checkState: d.checkState ?? INITIAL_CHECK_STATE };
      let result = await this.verifier.verify(target);
      let now = this.clock.now();
      let { rotation, verdict, t } = this.evaluate(d, state, result, now);
      const activates = (r: typeof rotation) => r.events.some((e) => e.type === 'dkim.activated');
      if ((t.changes.status === 'verified' && d.status !== 'verified') || activates(rotation)) {
        // A pass that would allow sending, or switch signing to a new key, is asked again over
        // TCP, which an off-path forger cannot answer.
        const udp = { status: t.changes.status, activates: activates(rotation) };
        const confirmed = await this.verifier.verify(target, { transport: 'tcp' });
        result = { ...confirmed, durationMs: result.durationMs + confirmed.durationMs };
        now = this.clock.now();
        ({ rotation, verdict, t } = this.evaluate(d, state, result, now));
        if (t.changes.status !== udp.status || activates(rotation) !== udp.activates) {
          log.warn({ verdict: confirmed.verdict }, 'a UDP pass was not confirmed over TCP');
        }
      }
      this.options.metrics?.checks.inc({ verdict });
      this.options.metrics?.checkDuration.observe({ verdict }, result.durationMs / 1000);
      const returnPath = d.returnPath ? await this.checkReturnPath(d.returnPath, d.domain, d.spfInclude) : null;
      if (returnPath) t.changes.nextCheckAt = earlier(t.changes.nextCheckAt, returnPath.nextCheckAt);
      // Each event has its own version, so that its id `{domainId}-{version}` is unique.
      const events: Array<{ type: DomainEventType; selector?: string }> = [...t.events.map((type) => ({ type })), ...rotation.events];
      const version = d.version + Math.max(1, events.length);
      const outbox = [
        ...(d.outbox ?? []),
        ...events.map((e, i) => ({ id: `${d._id}-${d.version + 1 + i}`, version: d.version + 1 + i, at: now, ...e })),
      ];
      const checked = new Set(result.records.map((r) => r.selector));
      const records: RecordStateDoc[] = [
        ...result.records.map((r) => ({
          purpose: r.purpose,
          selector: r.selector,
          status: r.status,
          found: r.found,
          reason: r.reason,
          suggested: r.suggested,
          warnings: r.warnings,
          nameservers: r.nameservers,
          hint: r.hint ?? null,
        })),
        // A retired selector is no longer checked: its last verdict stays on show.
        ...d.records.filter((r) => r.purpose === 'dkim' && !checked.has(r.selector) && rotation.selectors.some((s) => s.selector === r.selector)),
      ];
      await this.checks.insert({
        _id: newId('chk', now.getTime()),
        domainId: d._id,
        accountId: d.accountId,
        trigger,
        verdict,
        zone: result.zone,
        records: result.records,
        dmarc: result.dmarc,
        statusBefore: d.status,
        statusAfter: t.changes.status ?? d.status,
        durationMs: Math.round(result.durationMs),
        createdAt: now,
      });
      const rotationChanges = rotation.events.length ? { dkim: rotation.selectors } : {};
      const written = await this.domains.updateIfVersion(d._id, d.version, {
        ...t.changes,
        ...rotationChanges,
        dkimRotatableSince: rotatableSince(rotation.selectors, d.dkimRotationCancelledAt),
        version,
        records,
        dmarc: result.dmarc,
        zone: result.zone ?? d.zone ?? null,
        outbox,
        outboxSince: outbox.length ? (d.outboxSince ?? now) : null,
        ...(returnPath ? { returnPath } : {}),
        updatedAt: now,
      });
      if (!written) return 'stale';
      // The return path decides the relay's MAIL FROM answer and delivery's envelope sender.
      if (returnPath && returnPath.status !== d.returnPath?.status && !outbox.length) await this.notifier.policyChanged(d._id);
      // Trimming costs two queries, so it runs on every 50th check of a domain, not on each.
      if (t.changes.checkState.attempts % 50 === 0) await this.checks.trimDomain(d._id, this.options.retention.perDomain);
      if (t.changes.status && t.changes.status !== d.status) log.info({ from: d.status, to: t.changes.status, verdict }, 'domain status changed');
      if (outbox.length) await this.publishOutbox({ ...d, ...t.changes, ...rotationChanges, version, records, dmarc: result.dmarc, outbox } as DomainDoc);
      return 'checked';
    } finally {
      await this.lock.release(domainLockKey(domainId), token).catch(() => {});
    }
  }

  /**
   * The state machine and the rotation rules over one check's result: the rotation first,
   * so that a selector activated by this check is the one whose record decides the verdict.
   */
  private evaluate(d: DomainDoc, state: StateDomain, result: VerificationResult, now: Date) {
    const verdicts = new Map(result.records.filter((r) => r.purpose === 'dkim' && r.selector).map((r) => [r.selector!, r.status]));
    const rotation = applyRotation(d.dkim, verdicts, now, this.options.rotation);
    const verdict = domainVerdict(result.records, rotation.selectors);
    const t = applyCheck(state, verdict, now, this.options.policy);
    // The rotation's own cadence (a pending selector, a retirement due) where it is sooner.
    const { nextCheckAt } = t.changes;
    if (nextCheckAt && rotation.nextCheckAt && rotation.nextCheckAt < nextCheckAt) t.changes.nextCheckAt = rotation.nextCheckAt;
    return { rotation, verdict, t };
  }

  /**
   * Checks the domain's return path through the same state machine (its own window and
   * bookkeeping). Like the domain's, a pass that would verify it is confirmed over TCP.
   * It never changes the domain's status: it only selects the envelope sender.
   */
  private async checkReturnPath(rp: ReturnPathDoc, domain: string, spfInclude: string): Promise<ReturnPathDoc> {
    const target = { subdomain: rp.subdomain, domain, mxHost: this.options.returnPathMxHost ?? rp.mxHost, spfInclude };
    let result = await this.verifier.verifyReturnPath(target);
    let next = applyReturnPathCheck(rp, result.verdict, this.clock.now(), this.options.policy);
    if (next.status === 'verified' && rp.status !== 'verified') {
      result = await this.verifier.verifyReturnPath(target, { transport: 'tcp' });
      next = applyReturnPathCheck(rp, result.verdict, this.clock.now(), this.options.policy);
    }
    return { ...next, mxHost: target.mxHost, records: result.records, zone: result.zone ?? rp.zone ?? null };
  }

  /**
   * Copies outbox events into `events` (idempotent by id), signals relays and workers
   * (their cached decision and DKIM selectors), then clears the outbox. Call it under the
   * domain's lock, right after writing the outbox.
   */
  async publishOutbox(d: DomainDoc): Promise<void> {
    const view = toDomainEventView(d);
    for (const e of d.outbox) {
      const inserted = await this.events.insertOnce({
        _id: e.id,
        type: e.type,
        accountId: d.accountId,
        domainId: d._id,
        version: e.version,
        data: e.selector ? { ...view, selector: e.selector } : view,
        createdAt: e.at,
      });
      if (inserted) this.logger.info({ event: e.type, domainId: d._id, version: e.version }, 'domain event');
    }
    // Fan-out to webhooks is its own job per event; a lost enqueue is caught by the sweep's scan.
    await this.producer
      .enqueueWebhookDispatches(d.outbox.map((e) => e.id))
      .catch((err) => this.logger.warn({ err: (err as Error).message, domainId: d._id }, 'webhook dispatch not enqueued; the sweep will'));
    await this.notifier.policyChanged(d._id);
    // Only if nothing moved on meanwhile; otherwise the next run republishes (dups are no-ops).
    await this.domains.updateIfVersion(d._id, d.version, { outbox: [], outboxSince: null });
  }

  /** A page of the account's domain's check history, newest first; NotFoundError for another account's domain. */
  async listChecks(accountId: string, domainId: string, limit: number, before?: string) {
    if (!(await this.domains.findForAccount(accountId, domainId))) throw new NotFoundError('domain');
    const docs = await this.checks.listForDomain(accountId, domainId, limit + 1, before);
    const data = docs.slice(0, limit).map(({ accountId: _a, ...c }) => ({ ...c, id: c._id, _id: undefined }));
    return { data, nextCursor: docs.length > limit ? docs[limit - 1]._id : null };
  }

  /**
   * "Verify now": queues a check at once (idempotent while one is queued), rate-limited
   * per domain; on a failed domain it first opens a new propagation window.
   */
  async verifyNow(accountId: string, domainId: string): Promise<DomainResource> {
    let d = await this.domains.findForAccount(accountId, domainId);
    if (!d) throw new NotFoundError('domain');
    const { max, windowMs } = this.options.verifyLimit;
    const limit = await this.limiter.hit(`verify:${domainId}`, max, windowMs);
    if (!limit.allowed) {
      throw new RateLimitedError('verification was requested too often for this domain', Math.max(1, Math.ceil(limit.retryAfterMs / 1000)));
    }
    const now = this.clock.now();
    const reopening = reopen(d, now, this.options.propagationWindowMs);
    if (reopening) {
      const at = d;
      const reopened = { ...reopening, version: at.version + 1, updatedAt: now };
      if (await withDomainLock(this.lock, at._id, () => this.domains.updateIfVersion(at._id, at.version, reopened))) d = { ...at, ...reopened };
    }
    await this.producer.enqueueCheck(domainId);
    return toDomainResource(d);
  }
}
