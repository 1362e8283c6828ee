import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { EventStore } from '../events/event.store';
import { ValidationError } from '../errors';
import type { DeliveryMetrics } from '../http/metrics';
import type { Logger } from '../logger';
import type { RedisLock } from '../queue/redis-lock';
import type { DkimSelectorDoc } from '../domains/domain.model';
import type { DeliverySnapshot } from '../queue/queues';
import type { DeliveryDomain } from './delivery-domain-cache';
import type { DkimSigner } from './dkim-signer';
import { addMissingHeaders, messageIdFor } from './message-headers';
import type { DeliveryTransport, RecipientResult } from './delivery-transport';
import type { DeliveryAttempt, MessageDoc, RecipientState } from './message.model';
import { recipientsOf, toMessageResource, type MessageResource } from './message.resource';
import type { MessageStore } from './message.store';
import { applyUpdates, deriveMessageStatus, expiryOf, isFinalMessageStatus, isPending, queuedRecipients, type DerivedMessageStatus, type RecipientUpdate } from './recipient-status';
import { formatReply, type SmtpReply } from './smtp-reply';
import type { VerpAddresses } from './verp';
import type { ReturnPathDecision } from '../domains/return-path';
import { deliveryHoldReason } from '../sending-policy/sending-policy.service';

export type DeliveryMode = Config['delivery']['mode'];

/** DELIVERY_MODE and DELIVERY_MAX_AGE_MS. */
export type DeliveryOptions = Pick<Config['delivery'], 'mode' | 'maxAgeMs'>;

/** The message will never be delivered: the processor turns this into UnrecoverableError. */
export class DeliveryFailedError extends Error {
  constructor(
    readonly queueId: string,
    message: string,
  ) {
    super(message);
    this.name = 'DeliveryFailedError';
  }
}

/** A temporary failure: some recipient is `deferred` and the job is retried with backoff. */
export class DeliveryDeferredError extends Error {
  constructor(
    readonly queueId: string,
    message: string,
  ) {
    super(message);
    this.name = 'DeliveryDeferredError';
  }
}

/**
 * The domain may not send now (suspended, rejected, ...): nothing was sent, the message is
 * `held`, and the job is retried with backoff until the domain may send again.
 */
export class DeliveryHeldError extends Error {
  constructor(
    readonly queueId: string,
    message: string,
  ) {
    super(message);
    this.name = 'DeliveryHeldError';
  }
}

/** Where this attempt stands in the job's retries. */
export interface AttemptInfo {
  /** Attempts already made before this one (BullMQ's job.attemptsMade). */
  attemptsMade: number;
  /** All attempts the job may make (job.opts.attempts). */
  maxAttempts: number;
}

/** `held`: an operator holds the message's domain or account; the job ends, and a release re-enqueues it. */
export type DeliveryOutcome = 'delivered' | 'bounced' | 'held' | 'already_finished' | 'locked' | 'gone';

/** What cancelling one message came to (QueueOperationsService.cancel). */
export type CancelOutcome = 'cancelled' | 'finished' | 'locked' | 'gone';

/** The reason a cancelled recipient fails with (DESIGN §2: `failed: cancelled`). */
export const CANCELLED = 'cancelled';
/** How long cancel() waits for a running attempt to let go of the message: 25 × 200 ms. */
const CANCEL_LOCK_TRIES = 25;
const CANCEL_LOCK_WAIT_MS = 200;

/**
 * What an attempt knows of the message's domain (DeliveryDomainCache in the worker: the
 * decision and selectors cached per domain, dropped on the policy channel).
 */
export interface DeliveryDomainSource {
  get(domainId: string): Promise<DeliveryDomain>;
}

/** Puts a hard-bounced address on the account's suppression list (SuppressionService.suppress). */
export interface BounceSuppressor {
  suppress(accountId: string, address: string, reason: 'bounce', reply: SmtpReply | null): Promise<unknown>;
}

type MessageSummary = Omit<MessageDoc, 'raw' | 'captured'>;

/*
 * The per-message lock. Every delivery job of a message has the same job id
 * (deliver-<queueId>), and BullMQ gives a job to one worker at a time, re-queuing it when
 * that worker's job lock (lockDuration, 30 s, see workers/index.ts) is not renewed: that is
 * what brings a crashed worker's messages back. The message lock only guards what the job
 * lock cannot: deliver() called outside a job, or a second run of one message. So it must
 * never outlive its holder by more than the job lock does: short, renewed while the attempt
 * runs, and gone LOCK_TTL_MS after a `kill -9` — before BullMQ hands the stalled job on.
 */
export const LOCK_TTL_MS = 10_000;
const LOCK_RENEW_MS = 3_000;

/** The reason a recipient still deferred when the retries ran out (or DELIVERY_MAX_AGE_MS passed) bounces with. */
export const EXPIRED = 'expired';

/**
 * Delivers spooled messages (DESIGN §2 step 6): re-checks the sending decision, adds
 * missing Message-ID/Date, DKIM-signs, then hands the message to the mode's transport
 * (capture, smarthost or mx) for the recipients still pending. Each recipient moves
 * queued → delivered | deferred | bounced (or held while its domain may not send, failed
 * when it never may); the message's status is derived from them (deriveMessageStatus).
 * The job retries while a recipient is deferred or held.
 */
export class DeliveryService {
  private transport: DeliveryTransport | null = null;

  constructor(
    private readonly messages: MessageStore,
    private readonly domains: DeliveryDomainSource,
    private readonly events: EventStore,
    private readonly suppressions: BounceSuppressor,
    private readonly signer: DkimSigner,
    private readonly lock: RedisLock,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: DeliveryOptions,
    /** Called once, on the first send; the transport lives until close(). */
    private readonly transportFactory: () => DeliveryTransport,
    /** Enqueues the webhook fan-out of written events (JobProducer.enqueueWebhookDispatches). */
    private readonly dispatchEvents: (eventIds: string[]) => Promise<void>,
    /** The snapshots the relay put beside new delivery jobs (DeliverySnapshots). */
    private readonly snapshots?: { take(queueId: string): Promise<DeliverySnapshot | undefined> },
    /** Messages by status, recipients by outcome, delivery latency. */
    private readonly metrics?: DeliveryMetrics,
    /** Signs VERP envelope senders for domains with a verified return path; without it the client's sender is used. */
    private readonly verp?: VerpAddresses,
    /**
     * Whether the account has any active webhook (cached in the worker, dropped over pub/sub
     * when one is created or re-enabled): an account without one gets its events written
     * already dispatched, with no fan-out job and no subscriber query per event.
     */
    private readonly hasSubscribers: (accountId: string) => Promise<boolean> = async () => true,
    /** Operator holds (QueueHolds: an in-process snapshot); none: nothing is ever held by an operator. */
    private readonly holds?: { heldBy(domainId: string, accountId: string): Promise<string | null> },
  ) {}

  /**
   * Makes one delivery attempt of `queueId`. Idempotent by queueId: a finished message is
   * never sent again, a delivered recipient is never sent to again, and events are
   * (re)inserted under their unique ids. Throws DeliveryDeferredError (or DeliveryHeldError)
   * to be retried and DeliveryFailedError when the message reached nobody.
   */
  async deliver(queueId: string, attempt: AttemptInfo): Promise<DeliveryOutcome> {
    const key = `message:${queueId}`;
    const token = await this.lock.acquire(key, LOCK_TTL_MS);
    // Another run is on it; if that one dies, its lock lapses within LOCK_TTL_MS.
    if (!token) return 'locked';
    const renew = setInterval(() => {
      this.lock.extend(key, token, LOCK_TTL_MS).then(
        (held) => {
          if (!held) this.logger.warn({ queueId }, 'the message lock lapsed during a delivery attempt (the event loop or Redis stalled)');
        },
        (err: unknown) => this.logger.warn({ queueId, err: (err as Error).message }, 'renewing the message lock failed'),
      );
    }, LOCK_RENEW_MS);
    try {
      // Taken whatever the attempt, so none outlives its first one; only that one may use it.
      const snapshot = this.snapshots ? await this.snapshots.take(queueId).catch(() => undefined) : undefined;
      return await this.attempt(queueId, attempt, attempt.attemptsMade === 0 ? snapshot : undefined);
    } finally {
      clearInterval(renew);
      await this.lock.release(key, token).catch(() => {});
    }
  }

  /** Closes the transport, if one was opened. */
  close(): void {
    const t = this.transport;
    this.transport = null;
    if (t) void Promise.resolve(t.close()).catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'closing the delivery transport failed'));
  }

  private async attempt(queueId: string, info: AttemptInfo, snapshot?: DeliverySnapshot): Promise<DeliveryOutcome> {
    if (snapshot) {
      const outcome = await this.firstAttempt(queueId, info, snapshot);
      if (outcome !== null) return outcome;
    }
    const msg = await this.messages.findForDelivery(queueId);
    if (!msg) return 'gone';
    if (isFinalMessageStatus(msg.status)) {
      // A crash between the status write and the events left some out: insert them now.
      await this.publish(msg, recipientsOf(msg), this.clock.now());
      return 'already_finished';
    }
    const startedAt = this.clock.now();
    const operatorHold = this.holds ? await this.holds.heldBy(msg.domainId, msg.accountId) : null;
    if (operatorHold !== null) return this.holdForOperator(msg, operatorHold, startedAt);
    // A deferral now is the last word once the retries are spent or the message is too old.
    const expiry = expiryOf(msg.createdAt, startedAt, this.options.maxAgeMs, info.attemptsMade + 1 >= info.maxAttempts);
    // Mail accepted before a suspension or a rejection must not leave: ask again now.
    const { decision, dkim } = await this.domains.get(msg.domainId);
    const holdReason = decision && deliveryHoldReason(decision);
    if (holdReason) return this.hold(msg, expiry, holdReason, startedAt);
    if (!(await this.messages.markSending(queueId, startedAt))) return 'already_finished';

    return this.send(msg, decision && dkim, startedAt, expiry !== null, decision?.returnPath);
  }

  /**
   * The first attempt from the job's snapshot, without reading or writing the message
   * before the attempt's one outcome write. The snapshot is proof enough that nothing was
   * attempted: every attempt takes it (GETDEL) before it does anything, so one that is still
   * there was taken by no run, crashed or not, and every recipient is still pending; the
   * message stays `queued` until the outcome is written (a transient `sending` that a crash
   * may safely repeat is not worth a write). Null when the attempt must read the message
   * instead: its domain may not send now.
   */
  private async firstAttempt(queueId: string, info: AttemptInfo, snapshot: DeliverySnapshot): Promise<DeliveryOutcome | null> {
    const createdAt = new Date(snapshot.createdAt);
    const startedAt = this.clock.now();
    const { decision, dkim } = await this.domains.get(snapshot.domainId);
    if (decision && deliveryHoldReason(decision)) return null;
    if (this.holds && (await this.holds.heldBy(snapshot.domainId, snapshot.accountId)) !== null) return null;
    const raw = Buffer.from(snapshot.raw, 'base64');
    // What findForDelivery would have read: the document exactly as the relay spooled it.
    const msg: MessageDoc = {
      _id: queueId,
      accountId: snapshot.accountId,
      domainId: snapshot.domainId,
      domain: snapshot.domain,
      username: snapshot.username,
      envelope: snapshot.envelope,
      recipients: queuedRecipients(snapshot.envelope.to, createdAt),
      raw,
      size: raw.length,
      status: 'queued',
      attempts: [],
      captured: null,
      createdAt,
      updatedAt: createdAt,
      deliveredAt: null,
    };
    const last = expiryOf(createdAt, startedAt, this.options.maxAgeMs, info.attemptsMade + 1 >= info.maxAttempts) !== null;
    return this.send(msg, decision && dkim, startedAt, last, decision?.returnPath);
  }

  /** Signs and sends `msg` to its pending recipients (claimed: `sending`), and records the outcome. */
  private async send(msg: MessageDoc, dkim: DkimSelectorDoc[] | null, startedAt: Date, last: boolean, returnPath?: ReturnPathDecision): Promise<DeliveryOutcome> {
    const pending = recipientsOf(msg).filter((r) => isPending(r.status));
    if (!dkim) {
      const reason = 'the domain was deleted';
      return this.record(msg, pending.map((r) => unsent(r.address, 'failed', reason)), { at: startedAt, t0: performance.now(), response: reason });
    }

    const t0 = performance.now();
    let signed: Buffer;
    try {
      signed = await this.prepare(msg, dkim, startedAt);
    } catch (err) {
      const reason = `DKIM signing failed: ${(err as Error).message}`;
      const results = pending.map((r): RecipientResult => ({ address: r.address, outcome: 'deferred', reply: null, remoteHost: null, reason }));
      return this.record(msg, results.map((r) => fromResult(r, last)), { at: startedAt, t0 });
    }

    const results = await this.transmit(msg, pending.map((r) => r.address), signed, returnPath);
    const extra = this.options.mode === 'capture' ? { captured: signed } : {};
    return this.record(msg, results.map((r) => fromResult(r, last)), { at: startedAt, t0 }, extra);
  }

  /**
   * Hands the signed message to the transport. With a verified return path each recipient
   * gets its own transaction from its own VERP sender (b-<token>@subdomain), so that a
   * bounce names the recipient; otherwise one transaction from the client's envelope sender.
   */
  private async transmit(msg: MessageDoc, addresses: string[], raw: Buffer, returnPath?: ReturnPathDecision): Promise<RecipientResult[]> {
    const transport = (this.transport ??= this.transportFactory());
    const subdomain = returnPath?.mode === 'verp' ? returnPath.subdomain : null;
    if (!subdomain || !this.verp) return transport.deliver({ from: msg.envelope.from, recipients: addresses, raw, envelopeId: msg._id });
    const verp = this.verp;
    const all = recipientsOf(msg).map((r) => r.address);
    const each = await Promise.all(
      addresses.map((a) => transport.deliver({ from: verp.address(msg._id, all.indexOf(a), a, subdomain) ?? msg.envelope.from, recipients: [a], raw, envelopeId: msg._id })),
    );
    return each.flat();
  }

  /** The message as it leaves: Message-ID and Date added when missing, then DKIM-signed. */
  private async prepare(msg: MessageDoc, selectors: Parameters<DkimSigner['sign']>[2], now: Date): Promise<Buffer> {
    // Derived from the spool entry, not drawn per attempt: every retry carries the same
    // Message-ID and Date, so a receiver can recognise a copy a lost reply made us resend.
    const tag = createHash('sha256').update(`${msg._id}:${new Date(msg.createdAt).getTime()}`).digest('hex').slice(0, 16);
    const raw = addMissingHeaders(msg.raw, { messageId: messageIdFor(msg._id, msg.domain, tag), date: new Date(msg.createdAt) });
    const signed = await this.signer.sign(raw, msg.domain, selectors, now);
    for (const f of signed.failures) this.logger.warn({ queueId: msg._id, selector: f.selector, err: f.error }, 'a DKIM key failed to sign');
    return signed.message;
  }

  /**
   * The domain may not send (or its return path is not verified and its fallback is reject):
   * pending recipients are `held` with the reason and
   * retried on the backoff schedule; they bounce as `expired` once the message is older than
   * DELIVERY_MAX_AGE_MS, and fail once the retries are spent (the retry window closed while held).
   */
  private async hold(msg: MessageDoc, expiry: 'age' | 'retries' | null, reason: string, at: Date): Promise<DeliveryOutcome> {
    const pending = recipientsOf(msg).filter((r) => isPending(r.status));
    if (expiry === 'age') {
      const response = `${EXPIRED}: the domain was still not allowed to send when the message reached DELIVERY_MAX_AGE_MS: ${reason}`;
      const updates = pending.map((r): RecipientUpdate => ({ address: r.address, status: 'bounced', reply: null, remoteHost: null, reason: EXPIRED, sent: false }));
      return this.record(msg, updates, { at, t0: performance.now(), response, durationMs: 0 });
    }
    if (expiry === 'retries') {
      const response = `not sent: the domain was still not allowed to send when the retry window closed: ${reason}`;
      return this.record(msg, pending.map((r) => unsent(r.address, 'failed', response)), { at, t0: performance.now(), response, durationMs: 0 });
    }
    const since = msg.status === 'held' && msg.hold ? msg.hold.since : at;
    this.logger.info({ queueId: msg._id, domainId: msg.domainId, reason }, 'delivery held: the domain may not send');
    return this.record(msg, pending.map((r) => unsent(r.address, 'held', reason)), { at, t0: performance.now(), response: reason, durationMs: 0 }, { hold: { reason, since } });
  }

  /**
   * An operator holds the message's domain or account: pending recipients are `held`, and
   * the job ends (no retry spent, no expiry) until a release re-enqueues it. A message the
   * operator already holds is left as it is.
   */
  private async holdForOperator(msg: MessageDoc, reason: string, at: Date): Promise<DeliveryOutcome> {
    if (msg.status === 'held' && msg.hold?.operator) return 'held';
    const pending = recipientsOf(msg).filter((r) => isPending(r.status));
    this.logger.info({ queueId: msg._id, domainId: msg.domainId, reason }, 'delivery held by an operator');
    return this.record(msg, pending.map((r) => unsent(r.address, 'held', reason)), { at, t0: performance.now(), response: reason, durationMs: 0 }, {
      hold: { reason, since: at, operator: true },
    });
  }

  /**
   * Cancels what is still pending of `queueId` (an operator's cancel): its queued, deferred
   * and held recipients fail with reason `cancelled`, the message's status is derived, and
   * its events are written (message.failed once it reached nobody). Takes the message lock,
   * so it never races an attempt: it waits for a running one, briefly, then gives up (`locked`).
   */
  async cancel(queueId: string): Promise<CancelOutcome> {
    const key = `message:${queueId}`;
    let token: string | null = null;
    for (let i = 0; !token && i < CANCEL_LOCK_TRIES; i++) {
      token = await this.lock.acquire(key, LOCK_TTL_MS);
      if (!token) await new Promise((r) => setTimeout(r, CANCEL_LOCK_WAIT_MS));
    }
    if (!token) return 'locked';
    try {
      const msg = await this.messages.findForDelivery(queueId);
      if (!msg) return 'gone';
      if (isFinalMessageStatus(msg.status)) return 'finished';
      const pending = recipientsOf(msg).filter((r) => isPending(r.status));
      const at = this.clock.now();
      const response = `${CANCELLED} by an operator`;
      await this.record(msg, pending.map((r) => unsent(r.address, 'failed', CANCELLED)), { at, t0: performance.now(), response, durationMs: 0 }).catch((err: unknown) => {
        if (!(err instanceof DeliveryFailedError)) throw err;
      });
      return 'cancelled';
    } finally {
      await this.lock.release(key, token).catch(() => {});
    }
  }

  /**
   * Applies one attempt's updates in one store write (the changed recipients, the derived
   * status and the attempt), then suppresses hard bounces and inserts the events. Returns
   * or throws what the job must do next: retry while a recipient is deferred or held.
   */
  private async record(
    msg: MessageDoc,
    updates: RecipientUpdate[],
    a: { at: Date; t0: number; response?: string; durationMs?: number },
    extra: { captured?: Buffer; hold?: { reason: string; since: Date; operator?: boolean } } = {},
  ): Promise<DeliveryOutcome> {
    const now = this.clock.now();
    const before = recipientsOf(msg);
    const { recipients, changed } = applyUpdates(before, updates, now);
    const status = deriveMessageStatus(recipients);
    const final = isFinalMessageStatus(status);
    const deliveredAt = final && recipients.some((r) => r.status === 'delivered') ? now : null;
    const attempt: DeliveryAttempt = { at: a.at, status: status === 'queued' ? 'deferred' : status, ...summarise(updates, status, a.response), durationMs: a.durationMs ?? elapsed(a.t0) };
    const written = await this.messages.recordAttempt(msg._id, attempt, {
      status,
      updatedAt: now,
      ...(msg.recipients?.length ? { recipientsAt: changed } : { recipients }),
      ...(deliveredAt ? { deliveredAt } : {}),
      ...extra,
    });
    // Not written: another run finished it first, and that run inserts the events.
    if (!written) return 'already_finished';
    this.observe(msg, status, updates, now);
    const after: MessageDoc = { ...msg, status, recipients, attempts: [...(msg.attempts ?? []), attempt], deliveredAt, ...(extra.hold ? { hold: extra.hold } : {}) };
    const previous = new Map(before.map((r) => [r.address, r.status]));
    const news = final ? recipients : [...changed.values()];
    await this.publish(after, news.filter((r) => r.status !== 'deferred' || previous.get(r.address) !== 'deferred'), now);
    const counts = countBy(updates.map((u) => u.status));
    this.logger.info({ queueId: msg._id, status, code: attempt.code, ...counts }, `delivery attempt: message ${status}`);

    if (status === 'held' && extra.hold?.operator) return 'held';
    if (status === 'held') throw new DeliveryHeldError(msg._id, `${msg._id}: held: ${extra.hold?.reason ?? attempt.response}`);
    if (status === 'deferred' || status === 'queued') throw new DeliveryDeferredError(msg._id, `${msg._id}: deferred: ${attempt.response}`);
    if (status === 'failed') throw new DeliveryFailedError(msg._id, `${msg._id}: reached no recipient: ${attempt.response}`);
    return status;
  }

  /** Moves the delivery metrics by one written attempt. */
  private observe(msg: MessageDoc, status: DerivedMessageStatus, updates: RecipientUpdate[], now: Date): void {
    const m = this.metrics;
    if (!m) return;
    if (status !== msg.status) m.messages.inc({ status });
    const acceptedAt = new Date(msg.createdAt).getTime();
    for (const u of updates) {
      m.recipients.inc({ outcome: u.status });
      if (u.status === 'delivered') m.deliveryLatency.observe(Math.max(0, now.getTime() - acceptedAt) / 1000);
    }
  }

  /**
   * Suppresses `recipients` that hard-bounced and inserts their events (message.bounced per
   * bounced recipient, message.deferred per deferred one), then the message's own event once
   * it is finished (message.delivered / message.failed). Every event has a unique id, so
   * repeating this after a crash inserts only what is missing.
   */
  private async publish(msg: MessageSummary, recipients: RecipientState[], now: Date): Promise<void> {
    const resource = toMessageResource(msg);
    const ids: string[] = [];
    const fanOut = await this.hasSubscribers(msg.accountId);
    const emit = async (id: string, type: string, data: unknown) => {
      await this.emit(msg, id, type, data, now, !fanOut);
      ids.push(id);
    };
    for (const r of recipients) {
      if (r.status === 'bounced') {
        if (r.reply && r.reply.code >= 500) await this.suppress(msg, r);
        await emit(`${msg._id}-bounced-${r.address}`, 'message.bounced', { ...resource, recipient: recipientView(resource, r.address) });
      } else if (r.status === 'deferred') {
        await emit(`${msg._id}-deferred-${r.address}`, 'message.deferred', { ...resource, recipient: recipientView(resource, r.address) });
      }
    }
    if (msg.status === 'delivered' || msg.status === 'failed') await emit(`${msg._id}-${msg.status}`, `message.${msg.status}`, resource);
    // Fan-out to webhooks is its own job per event; a lost enqueue is caught by the sweep's scan.
    if (!fanOut) return;
    await this.dispatchEvents(ids).catch((err) =>
      this.logger.warn({ err: (err as Error).message, queueId: msg._id }, 'webhook dispatch not enqueued; the sweep will'),
    );
  }

  private async suppress(msg: MessageSummary, r: RecipientState): Promise<void> {
    try {
      await this.suppressions.suppress(msg.accountId, r.address, 'bounce', r.reply);
    } catch (err) {
      // An address the list cannot hold (not a mailbox it can parse) stays deliverable-looking: say so.
      if (!(err instanceof ValidationError)) throw err;
      this.logger.warn({ queueId: msg._id, err: (err as Error).message }, 'a hard-bounced address could not be suppressed');
    }
  }

  private async emit(msg: MessageSummary, id: string, type: string, data: unknown, now: Date, dispatched: boolean): Promise<void> {
    await this.events.insertOnce({ _id: id, type, accountId: msg.accountId, domainId: msg.domainId, version: 0, data, createdAt: now, dispatched });
  }
}

/** A transport's result as a recipient update: a deferral on the last attempt (or of a too old message) bounces as `expired`. */
function fromResult(r: RecipientResult, last: boolean): RecipientUpdate & { detail: string } {
  const detail = r.reason || (r.reply ? formatReply(r.reply) : 'no reason given');
  if (r.outcome === 'deferred' && last) return { address: r.address, status: 'bounced', reply: r.reply, remoteHost: r.remoteHost, reason: EXPIRED, sent: true, detail: `${EXPIRED}: ${detail}` };
  return { address: r.address, status: r.outcome, reply: r.reply, remoteHost: r.remoteHost, reason: r.reason, sent: true, detail };
}

/** A decision taken without sending: held, or failed. */
function unsent(address: string, status: 'held' | 'failed', reason: string): RecipientUpdate {
  return { address, status, reply: null, remoteHost: null, reason, sent: false };
}

/**
 * The attempt log's code and response: those of the first recipient whose state matches
 * the message's (the first bounce of a bounced or failed message), with counts when the
 * attempt had more than one recipient.
 */
function summarise(updates: Array<RecipientUpdate & { detail?: string }>, status: DerivedMessageStatus, response?: string): { code: number | null; response: string | null } {
  const want = status === 'failed' || status === 'bounced' ? ['bounced', 'failed'] : [status];
  const u = updates.find((x) => want.includes(x.status)) ?? updates[0];
  const code = u?.reply?.code ?? null;
  let text = response ?? u?.detail ?? u?.reason ?? null;
  if (updates.length > 1 && text !== null && response === undefined) {
    text += ` (${Object.entries(countBy(updates.map((x) => x.status))).map(([k, n]) => `${n} ${k}`).join(', ')})`;
  }
  return { code, response: text };
}

function recipientView(resource: MessageResource, address: string) {
  return resource.recipients.find((r) => r.address === address) ?? null;
}

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

function elapsed(t0: number): number {
  return Math.round(performance.now() - t0);
}
