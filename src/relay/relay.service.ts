import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock';
import type { SmtpUser } from '../smtp-users/smtp-user.store';
import { verifyPassword } from '../smtp-users/smtp-password';
import { isDuplicateKeyError } from '../errors';
import type { FixedWindowLimiter } from '../limits/fixed-window-limiter';
import type { Logger } from '../logger';
import type { MessageStore } from '../messages/message.store';
import type { JobProducer } from '../queue/producers';
import type { AllowlistCache } from './allowlist-cache';
import type { InspectedMessage } from './message-inspector';
import type { PolicyCache } from './policy-cache';
import { defectReply, REPLIES } from './smtp-replies';

/** Who is sending, once AUTH succeeded. */
export interface RelayUser {
  username: string;
  domainId: string;
  accountId: string;
}

export interface RelayOptions {
  maxAuthFailures: number;
  authFailureWindowMs: number;
  maxRecipients: number;
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
    private readonly messages: MessageStore,
    private readonly producer: JobProducer,
    private readonly policy: PolicyCache,
    private readonly allowlist: AllowlistCache,
    private readonly limiter: FixedWindowLimiter,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: RelayOptions,
  ) {}

  /** At connect: some configuration must allow the client address (default deny). */
  checkConnection(ip: string): void {
    if (!this.allowlist.ready) throw REPLIES.temporaryFailure();
    if (!this.allowlist.anyAllows(ip)) throw REPLIES.accessDenied();
  }

  /** AUTH: valid credentials, not locked out, and the user's own configuration allows the address. */
  async authenticate(username: string, password: string, ip: string): Promise<RelayUser> {
    const failKey = `auth-fail:${ip}`;
    if ((await this.limiter.count(failKey)) >= this.options.maxAuthFailures) {
      this.logger.warn({ ip }, 'smtp auth refused: address locked out after repeated failures');
      throw REPLIES.authFailed();
    }
    const user = await this.users.findByUsername(username);
    const ok = user ? await verifyPassword(user.passwordHash, password) : false;
    if (!user || !ok || !this.allowlist.domainAllows(user.domainId, ip)) {
      await this.limiter.hit(failKey, this.options.maxAuthFailures, this.options.authFailureWindowMs);
      this.logger.info({ ip, username: user ? username : '(unknown)', reason: !user || !ok ? 'credentials' : 'address not allowed' }, 'smtp auth failed');
      throw REPLIES.authFailed();
    }
    return { username: user.username, domainId: user.domainId, accountId: user.accountId };
  }

  /** MAIL FROM: the user's own domain, and that domain may send right now. */
  async checkSender(user: RelayUser, address: string): Promise<void> {
    const decision = await this.policy.decide(user.domainId);
    if (!address.includes('@') || domainOf(address) !== decision.domain) throw REPLIES.senderNotPermitted();
    if (!decision.allowed) throw REPLIES.sendingSuspended(decision.domain, decision.reason);
  }

  checkRecipientCount(current: number): void {
    if (current >= this.options.maxRecipients) throw REPLIES.tooManyRecipients(this.options.maxRecipients);
  }

  /**
   * End of DATA: a message the inspector found a defect in is refused (DESIGN §5), the
   * From: header must name the user's domain; the message is spooled in MongoDB, then
   * its delivery job is enqueued, and only then is it accepted.
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
    for (let attempt = 0; ; attempt++) {
      try {
        await this.messages.insert({
          _id: queueId,
          accountId: user.accountId,
          domainId: user.domainId,
          domain: decision.domain,
          username: user.username,
          envelope,
          raw: message.raw,
          size: message.raw.length,
          status: 'queued',
          attempts: [],
          captured: null,
          createdAt: now,
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
      await this.producer.enqueueDelivery(queueId);
    } catch (err) {
      // The client will be told to retry: take the spooled copy back so it is not sent twice.
      await this.messages.remove(queueId).catch(() => {});
      throw err;
    }
    this.logger.info({ queueId, domainId: user.domainId, recipients: envelope.to.length, size: message.raw.length }, 'message accepted');
    return queueId;
  }
}
