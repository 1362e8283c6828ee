import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock';
import type { SmtpUser } from '../smtp-users/smtp-user.store';
import { verifyPasswordOrDummy } from '../smtp-users/smtp-password';
import { isSmtpUsername } from '../smtp-users/smtp-user.service';
import { isDuplicateKeyError } from '../errors';
import type { FixedWindowLimiter } from '../limits/fixed-window-limiter';
import type { SendingQuota } from '../limits/sending-quota';
import type { Logger } from '../logger';
import type { SpoolWriter } from '../messages/spool-writer';
import { queuedRecipients } from '../messages/recipient-status';
import type { JobProducer } from '../queue/producers';
import type { AllowlistCache } from './allowlist-cache';
import { clientNetwork } from './client-network';
import { DeadlineExceededError, withDeadline } from '../deadline';
import type { InspectedMessage } from './message-inspector';
import type { PolicyCache } from './policy-cache';
import { defectReply, REPLIES } from './smtp-replies';
import type { SuppressionCache } from './suppression-cache';

/** Who is sending, once AUTH succeeded. */
export interface RelayUser {
  username: string;
  domainId: string;
  accountId: string;
}

export interface RelayOptions {
  /** AUTH failures from one client network (IPv4 address, IPv6 /64) before it is locked out for the window. */
  maxAuthFailures: number;
  /** AUTH failures against one username, from anywhere, before that username counts as under attack. */
  maxUsernameFailures: number;
  authFailureWindowMs: number;
  maxRecipients: number;
  /** The longest any Redis call on the accept path may take before the client gets 451 (2 s). */
  redisDeadlineMs: number;
}

const QUEUE_ID_ALPHABET = '0123456789bcdfghjklmnpqrstvwxyz';

/** 12 characters of a 31-letter alphabet without vowels: short, URL-safe, ~59 bits. */
export function newQueueId(): string {
  const bytes = randomBytes(12);
  let id = '';
  for (const b of bytes) id += QUEUE_ID_ALPHABET[b % QUEUE_ID_ALPHABET.length];
  return id;
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase().replace(/\.$/, '');

/**
 * The relay's decisions, independent of smtp-server: who may connect, authenticate
 * and send, and the spool-then-enqueue of accepted mail (DESIGN §5, §2 step 5).
 */
export class RelayService {
  constructor(
    private readonly users: { findByUsername(username: string): Promise<SmtpUser | null> },
    private readonly spool: Pick<SpoolWriter, 'insert' | 'remove'>,
    private readonly producer: JobProducer,
    private readonly policy: PolicyCache,
    private readonly allowlist: AllowlistCache,
    private readonly limiter: FixedWindowLimiter,
    private readonly suppressions: SuppressionCache,
    private readonly quota: SendingQuota,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: RelayOptions,
  ) {}

  /** At connect: some configuration must allow the client address (default deny). */
  checkConnection(ip: string): void {
    if (!this.allowlist.ready) throw REPLIES.temporaryFailure();
    if (!this.allowlist.anyAllows(ip)) throw REPLIES.accessDenied();
  }

  /**
   * AUTH: valid credentials, not locked out, and the user's own configuration allows the address.
   *
   * Failures are counted twice: per client network (clientNetwork: the IPv4 address, the
   * IPv6 /64) and per username. A network at maxAuthFailures is locked out for every
   * username. The username counter must never become a way to lock the real user out,
   * so it does not refuse anyone by itself: once a username has maxUsernameFailures
   * failures from anywhere, it only takes away the remaining tries of networks that have
   * failed themselves within the window (their limit drops to the failures they already
   * have). A network with no failures of its own still logs in with the right password,
   * however hard the username is attacked from elsewhere; an attacker spread over many
   * networks gets one guess per network and window instead of maxAuthFailures.
   *
   * Known and unknown usernames cost the same scrypt work (a dummy hash), and refusals
   * for a locked-out network cost none. The counts are read before and written after the
   * check, so attempts running at the same moment on parallel sessions of one network can
   * overshoot the limit by their number (at most the per-address connection limit).
   */
  async authenticate(username: string, password: string, ip: string): Promise<RelayUser> {
    const network = clientNetwork(ip);
    const netKey = `auth-fail:net:${network}`;
    // Only a name that could exist has anyone to protect; others would only fill Redis.
    const name = username.toLowerCase();
    const userKey = isSmtpUsername(name) ? `auth-fail:user:${name}` : null;
    const [netFailures, userFailures] = await Promise.all([
      this.redis(this.limiter.count(netKey), 'auth lockout count'),
      userKey ? this.redis(this.limiter.count(userKey), 'auth lockout count') : Promise.resolve(0),
    ]);
    if (netFailures >= this.options.maxAuthFailures) {
      this.logger.warn({ ip, network }, 'smtp auth refused: network locked out after repeated failures');
      throw REPLIES.authFailed();
    }
    if (netFailures > 0 && userFailures >= this.options.maxUsernameFailures) {
      this.logger.warn({ ip, network, username: name }, 'smtp auth refused: username under attack and this network has failed before');
      throw REPLIES.authFailed();
    }
    const user = await this.users.findByUsername(username);
    const ok = await verifyPasswordOrDummy(user?.passwordHash ?? null, password);
    if (!user || !ok || !this.allowlist.domainAllows(user.domainId, ip)) {
      const { maxAuthFailures, maxUsernameFailures, authFailureWindowMs } = this.options;
      await Promise.all([
        this.redis(this.limiter.hit(netKey, maxAuthFailures, authFailureWindowMs), 'auth lockout count'),
        userKey ? this.redis(this.limiter.hit(userKey, maxUsernameFailures, authFailureWindowMs), 'auth lockout count') : null,
      ]);
      this.logger.info({ ip, username: user ? username : '(unknown)', reason: !user || !ok ? 'credentials' : 'address not allowed' }, 'smtp auth failed');
      throw REPLIES.authFailed();
    }
    return { username: user.username, domainId: user.domainId, accountId: user.accountId };
  }

  /** MAIL FROM: the user's own domain, that domain may send right now, and its return path does not hold it back (fallback `reject`). */
  async checkSender(user: RelayUser, address: string): Promise<void> {
    const decision = await this.policy.decide(user.domainId);
    if (!address.includes('@') || domainOf(address) !== decision.domain) throw REPLIES.senderNotPermitted();
    if (!decision.allowed) throw REPLIES.sendingSuspended(decision.domain, decision.reason);
    if (decision.returnPath?.mode === 'reject') throw REPLIES.returnPathNotVerified(decision.domain);
  }

  checkRecipientCount(current: number): void {
    if (current >= this.options.maxRecipients) throw REPLIES.tooManyRecipients(this.options.maxRecipients);
  }

  /**
   * RCPT TO, `current` recipients already accepted: within the recipient limit, not on the
   * account's suppression list (served from the in-process cache), the domain still allowed
   * to send, and within its per-second rate and daily quota, where it is counted (one Redis
   * script, under the deadline). A refused recipient counts nowhere, and the transaction goes on.
   */
  async checkRecipient(user: RelayUser, address: string, current: number): Promise<void> {
    this.checkRecipientCount(current);
    if (await this.suppressions.isSuppressed(user.accountId, address)) throw REPLIES.recipientSuppressed();
    const decision = await this.policy.decide(user.domainId);
    // Suspended since MAIL FROM: say so, rather than count against limits of a domain that may not send.
    if (!decision.allowed) throw REPLIES.sendingSuspended(decision.domain, decision.reason);
    // A count that lands after its deadline counts a recipient the client was told to retry:
    // the quota errs on the side of the limit.
    const verdict = await this.redis(this.quota.hit(user.domainId, decision.limits, this.clock.now()), 'sending quota');
    if (verdict === 'daily') throw REPLIES.dailyQuotaExceeded();
    if (verdict === 'rate') throw REPLIES.rateExceeded();
  }

  /**
   * End of DATA: a message the inspector found a defect in is refused (DESIGN §5), the
   * From: header must name the user's domain; the message is spooled in MongoDB (with the
   * other sessions' messages of the moment: SpoolWriter's group commit), then its delivery
   * job is enqueued, and only then is it accepted.
   */
  async accept(user: RelayUser, envelope: { from: string; to: string[] }, message: InspectedMessage): Promise<string> {
    if (message.defect) {
      this.logger.info({ domainId: user.domainId, defect: message.defect.kind, reason: 'reason' in message.defect ? message.defect.reason : undefined }, 'message refused');
      throw defectReply(message.defect);
    }
    const decision = await this.policy.decide(user.domainId);
    if (message.fromDomains.length === 0 || message.fromDomains.some((d) => d !== decision.domain)) throw REPLIES.fromNotPermitted();
    if (!decision.allowed) throw REPLIES.sendingSuspended(decision.domain, decision.reason);
    const now = this.clock.now();
    let queueId = newQueueId();
    const spooled = { accountId: user.accountId, domainId: user.domainId, domain: decision.domain, username: user.username, envelope, raw: message.raw, createdAt: now };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.spool.insert({
          _id: queueId,
          ...spooled,
          recipients: queuedRecipients(envelope.to, now),
          size: message.raw.length,
          status: 'queued',
          attempts: [],
          captured: null,
          updatedAt: now,
          deliveredAt: null,
        });
        break;
      } catch (err) {
        if (!isDuplicateKeyError(err) || attempt >= 3) throw err;
        queueId = newQueueId();
      }
    }
    try {
      await this.redis(this.producer.enqueueDelivery(queueId, spooled), 'delivery enqueue');
    } catch (err) {
      // The client will be told to retry: take the spooled copy back so it is not sent twice.
      // An enqueue that lands after its deadline finds neither its snapshot (dropped behind
      // the put, not awaited: Redis may be what stalled) nor the message, and delivers nothing.
      void this.producer.withdrawDelivery(queueId).catch((dropErr: unknown) =>
        this.logger.warn({ queueId, err: (dropErr as Error).message }, 'relay: could not drop the snapshot of a refused message'),
      );
      await this.spool.remove(queueId).catch((removeErr: unknown) =>
        this.logger.error({ queueId, err: (removeErr as Error).message }, 'relay: could not remove the spooled copy of a refused message'),
      );
      throw err;
    }
    this.logger.info({ queueId, domainId: user.domainId, recipients: envelope.to.length, size: message.raw.length }, 'message accepted');
    return queueId;
  }

  /**
   * A Redis call on the accept path, bounded by redisDeadlineMs: the queue connection
   * waits for Redis forever (maxRetriesPerRequest: null) and a stalled server answers
   * nothing, so without a deadline a client would hang instead of hearing 451.
   */
  private redis<T>(work: Promise<T>, what: string): Promise<T> {
    return withDeadline(work, this.options.redisDeadlineMs, `redis (${what})`).catch((err: unknown) => {
      if (err instanceof DeadlineExceededError) this.logger.warn({ what, deadlineMs: err.deadlineMs }, 'relay: redis did not answer in time');
      throw err;
    });
  }
}
