import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { DomainStore } from '../domains/domain.store';
import type { EventStore } from '../events/event.store';
import type { Logger } from '../logger';
import type { RedisLock } from '../queue/redis-lock';
import type { SendingPolicy } from '../sending-policy/sending-policy.service';
import type { DkimSigner } from './dkim-signer';
import { addMissingHeaders, messageIdFor } from './message-headers';
import type { DeliveryAttempt, MessageDoc, MessageStatus } from './message.model';
import { toMessageResource } from './message.resource';
import type { MessageStore } from './message.store';
import { classifySendError, type MessageTransport } from './smarthost.transport';

export type DeliveryMode = Config['delivery']['mode'];

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

/** A temporary failure: the message is `deferred` and the job is retried with backoff. */
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

export type DeliveryOutcome = 'delivered' | 'already_finished' | 'locked' | 'gone';

/** The sending decision, asked again on every attempt (the relay's was taken at acceptance). */
export type SendingDecisionSource = Pick<SendingPolicy, 'forDomain'>;

// Longer than one send can take (nodemailer's socket timeout), so the lock never lapses mid-send.
const LOCK_TTL_MS = 5 * 60_000;

/**
 * Delivers spooled messages (DESIGN §2 step 6): re-checks the sending decision, adds
 * missing Message-ID/Date, DKIM-signs, then captures or hands the message to the
 * smarthost, recording every attempt and moving the message through
 * queued → sending → delivered | deferred | failed, or to `held` while its domain may not send.
 */
export class DeliveryService {
  private transport: MessageTransport | null = null;

  constructor(
    private readonly messages: MessageStore,
    private readonly domains: DomainStore,
    private readonly policy: SendingDecisionSource,
    private readonly events: EventStore,
    private readonly signer: DkimSigner,
    private readonly lock: RedisLock,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly mode: DeliveryMode,
    /** Called once, on the first smarthost send; the transport lives until close(). */
    private readonly transportFactory: () => MessageTransport,
    /** Enqueues the webhook fan-out of a written event (JobProducer.enqueueWebhookDispatches). */
    private readonly dispatchEvents: (eventIds: string[]) => Promise<void>,
  ) {}

  /**
   * Makes one delivery attempt of `queueId`. Idempotent by queueId: a finished message is
   * never sent again, and its event is (re)inserted under its unique id. Throws
   * DeliveryDeferredError to be retried and DeliveryFailedError when the message failed.
   */
  async deliver(queueId: string, attempt: AttemptInfo): Promise<DeliveryOutcome> {
    const token = await this.lock.acquire(`message:${queueId}`, LOCK_TTL_MS);
    // Another worker is on it; if that one dies, recovery re-enqueues the message.
    if (!token) return 'locked';
    try {
      return await this.attempt(queueId, attempt);
    } finally {
      await this.lock.release(`message:${queueId}`, token).catch(() => {});
    }
  }

  /** Closes the smarthost pool, if one was opened. */
  close(): void {
    this.transport?.close();
    this.transport = null;
  }

  private async attempt(queueId: string, info: AttemptInfo): Promise<DeliveryOutcome> {
    const msg = await this.messages.findForDelivery(queueId);
    if (!msg) return 'gone';
    if (msg.status === 'delivered' || msg.status === 'failed') {
      // A crash between the status write and the event insert left no event: insert it now.
      await this.emit(msg, msg.status, this.clock.now());
      return 'already_finished';
    }
    const startedAt = this.clock.now();
    // Mail accepted before a suspension or a rejection must not leave: ask again now.
    const decision = await this.policy.forDomain(msg.domainId);
    if (decision && !decision.allowed) return this.hold(msg, info, decision.reason, startedAt);
    if (!(await this.messages.markSending(queueId, startedAt))) return 'already_finished';

    const domain = decision && (await this.domains.findById(msg.domainId));
    if (!domain) {
      await this.finish(msg, { at: startedAt, status: 'failed', code: null, response: 'the domain was deleted', durationMs: 0 });
      throw new DeliveryFailedError(queueId, `${queueId}: the domain ${msg.domain} was deleted`);
    }

    const t0 = performance.now();
    let signed: Buffer;
    try {
      signed = await this.prepare(msg, domain.dkim, startedAt);
    } catch (err) {
      return this.temporaryFailure(msg, info, { at: startedAt, code: null, response: `DKIM signing failed: ${(err as Error).message}`, t0 });
    }

    if (this.mode === 'capture') {
      await this.finish(
        msg,
        { at: startedAt, status: 'delivered', code: null, response: 'captured', durationMs: elapsed(t0) },
        { captured: signed },
      );
      return 'delivered';
    }
    if (this.mode !== 'smarthost') throw new Error(`delivery mode ${this.mode} is not implemented`);

    this.transport ??= this.transportFactory();
    try {
      const res = await this.transport.send(msg.envelope, signed);
      const response = res.rejected.length ? `${res.response} (rejected: ${res.rejected.join(', ')})` : res.response;
      await this.finish(msg, { at: startedAt, status: 'delivered', code: res.code, response, durationMs: elapsed(t0) });
      return 'delivered';
    } catch (err) {
      const c = classifySendError(err);
      if (!c.permanent) return this.temporaryFailure(msg, info, { at: startedAt, code: c.code, response: c.response, t0 });
      await this.finish(msg, { at: startedAt, status: 'failed', code: c.code, response: c.response, durationMs: elapsed(t0) });
      throw new DeliveryFailedError(queueId, `${queueId}: the smarthost refused the message: ${c.response}`);
    }
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
   * The domain may not send: `held` with the decision's reason and retried on the backoff
   * schedule, or failed once the retries are spent (the retry window closed while held).
   */
  private async hold(msg: MessageDoc, info: AttemptInfo, reason: string, at: Date): Promise<never> {
    if (info.attemptsMade + 1 >= info.maxAttempts) {
      const response = `not sent: the domain was still not allowed to send when the retry window closed: ${reason}`;
      await this.finish(msg, { at, status: 'failed', code: null, response, durationMs: 0 });
      throw new DeliveryFailedError(msg._id, `${msg._id}: ${response}`);
    }
    const since = msg.status === 'held' && msg.hold ? msg.hold.since : at;
    const attempt: DeliveryAttempt = { at, status: 'held', code: null, response: reason, durationMs: 0 };
    await this.messages.recordAttempt(msg._id, attempt, { status: 'held', hold: { reason, since }, updatedAt: this.clock.now() });
    this.logger.info({ queueId: msg._id, domainId: msg.domainId, reason, attempt: info.attemptsMade + 1 }, 'delivery held: the domain may not send');
    throw new DeliveryHeldError(msg._id, `${msg._id}: held: ${reason}`);
  }

  /** 4xx, connection trouble or a signing problem: deferred, or failed once the retries are spent. */
  private async temporaryFailure(
    msg: MessageDoc,
    info: AttemptInfo,
    a: { at: Date; code: number | null; response: string; t0: number },
  ): Promise<never> {
    const last = info.attemptsMade + 1 >= info.maxAttempts;
    const attempt: DeliveryAttempt = { at: a.at, status: last ? 'failed' : 'deferred', code: a.code, response: a.response, durationMs: elapsed(a.t0) };
    if (last) {
      await this.finish(msg, attempt);
      throw new DeliveryFailedError(msg._id, `${msg._id}: gave up after ${info.maxAttempts} attempts: ${a.response}`);
    }
    await this.messages.recordAttempt(msg._id, attempt, { status: 'deferred', updatedAt: this.clock.now() });
    this.logger.info({ queueId: msg._id, code: a.code, attempt: info.attemptsMade + 1 }, 'delivery deferred');
    throw new DeliveryDeferredError(msg._id, `${msg._id}: deferred: ${a.response}`);
  }

  /** Writes the final status with its attempt, then the event. */
  private async finish(msg: MessageDoc, attempt: DeliveryAttempt, extra: { captured?: Buffer } = {}): Promise<void> {
    const now = this.clock.now();
    const status: MessageStatus = attempt.status === 'delivered' ? 'delivered' : 'failed';
    const set = { status, updatedAt: now, ...(status === 'delivered' ? { deliveredAt: now } : {}), ...extra };
    const written = await this.messages.recordAttempt(msg._id, attempt, set);
    // Not written: another run finished it first, and that run emits the event.
    if (!written) return;
    this.logger.info({ queueId: msg._id, status, code: attempt.code }, `message ${status}`);
    const after = { ...msg, status, attempts: [...(msg.attempts ?? []), attempt], deliveredAt: status === 'delivered' ? now : null };
    await this.emit(after, status, now);
  }

  /** message.delivered / message.failed, once per message whatever the retries. */
  private async emit(msg: Omit<MessageDoc, 'raw' | 'captured'>, status: 'delivered' | 'failed', now: Date): Promise<void> {
    await this.events.insertOnce({
      _id: `${msg._id}-${status}`,
      type: `message.${status}`,
      accountId: msg.accountId,
      domainId: msg.domainId,
      version: 0,
      data: toMessageResource(msg),
      createdAt: now,
    });
    // A lost enqueue is caught by the sweep's scan for events not yet fanned out.
    await this.dispatchEvents([`${msg._id}-${status}`]).catch((err) =>
      this.logger.warn({ err: (err as Error).message, queueId: msg._id }, 'webhook dispatch not enqueued; the sweep will'),
    );
  }
}

function elapsed(t0: number): number {
  return Math.round(performance.now() - t0);
}
