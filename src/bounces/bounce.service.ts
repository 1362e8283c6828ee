import type { Clock } from '../clock';
import type { DomainStore } from '../domains/domain.store';
import { ValidationError } from '../errors';
import type { EventStore } from '../events/event.store';
import type { Logger } from '../logger';
import { recipientsOf, toMessageResource } from '../messages/message.resource';
import type { MessageDoc } from '../messages/message.model';
import type { MessageStore } from '../messages/message.store';
import { applyUpdates, deriveMessageStatus, type RecipientState } from '../messages/recipient-status';
import { parseReply, type SmtpReply } from '../messages/smtp-reply';
import type { VerpAddresses, VerpToken } from '../messages/verp';
import type { SuppressionService } from '../suppressions/suppression.service';
import { parseReport, type DsnRecipient, type FeedbackReport } from './report-parser';

type MessageSummary = Omit<MessageDoc, 'raw' | 'captured'>;

/** RCPT TO at the intake: taken, not at a verified return path, or not a VERP address there. */
export type RecipientVerdict = 'accept' | 'not_return_path' | 'not_verp';

/** What became of one report for one envelope recipient, for the log and the tests. */
export type ReportOutcome = 'bounced' | 'complained' | 'ignored' | 'dropped';

const split = (address: string) => {
  const at = address.lastIndexOf('@');
  return { local: address.slice(0, at), domain: address.slice(at + 1).toLowerCase().replace(/\.$/, '') };
};

/**
 * The bounce intake (DESIGN §1 role `bounce`, §2 step 6): reports that reach a verified
 * return-path subdomain are mapped through their VERP token to a message and recipient.
 * A permanent failure (DSN action=failed, status 5.x.x) bounces the recipient and
 * suppresses the address; an ARF complaint records the complaint and suppresses the
 * address, except `not-spam`. A token that does not verify is dropped (and logged).
 */
export class BounceService {
  constructor(
    private readonly domains: DomainStore,
    private readonly messages: MessageStore,
    private readonly events: EventStore,
    private readonly suppressions: Pick<SuppressionService, 'suppress'>,
    private readonly verp: VerpAddresses,
    /** Enqueues the webhook fan-out of written events (JobProducer.enqueueWebhookDispatches). */
    private readonly dispatchEvents: (eventIds: string[]) => Promise<void>,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /**
   * RCPT TO: only addresses at a return-path subdomain that is verified now, and there only a
   * local part with the shape of a VERP token (its signature is checked at DATA, so that a
   * forger learns nothing from the reply), or `postmaster`, which every SMTP server that
   * delivers mail must take (RFC 5321 §4.5.1): a feedback loop's report to it still names
   * the token in Original-Mail-From.
   */
  async acceptsRecipient(address: string): Promise<RecipientVerdict> {
    if (!address.includes('@')) return 'not_return_path';
    const { local, domain } = split(address);
    const owners = await this.domains.findByReturnPath(domain);
    if (!owners.some((d) => d.returnPath?.status === 'verified')) return 'not_return_path';
    return local.toLowerCase() === 'postmaster' || this.verp.parse(local) ? 'accept' : 'not_verp';
  }

  /** End of DATA: parses the report once and applies it for every envelope recipient. */
  async receive(recipients: string[], raw: Buffer): Promise<ReportOutcome[]> {
    const report = await parseReport(raw);
    const out: ReportOutcome[] = [];
    for (const rcpt of recipients) out.push(await this.apply(rcpt, report));
    return out;
  }

  private async apply(rcpt: string, report: FeedbackReport): Promise<ReportOutcome> {
    if (report.kind === 'other') {
      this.logger.info({ rcpt, contentType: report.contentType }, 'bounce intake: neither a DSN nor an ARF report; dropped');
      return 'ignored';
    }
    // Feedback loops may send the report elsewhere; the original envelope sender still carries the token.
    const token = this.verp.parse(split(rcpt).local) ?? (report.kind === 'arf' && report.originalMailFrom ? this.verp.parse(split(report.originalMailFrom).local) : null);
    if (!token) {
      this.logger.info({ rcpt }, 'bounce intake: no VERP token; dropped');
      return 'ignored';
    }
    const found = await this.resolve(token);
    if (!found) {
      this.logger.warn({ rcpt, queueId: token.queueId }, 'bounce intake: the VERP token does not verify (forged, damaged or unknown); dropped');
      return 'dropped';
    }
    const { msg, index, recipient } = found;
    if (report.kind === 'dsn') return this.bounce(msg, index, recipient, report.recipients);
    if (report.feedbackType === 'not-spam') {
      this.logger.info({ queueId: msg._id, feedbackType: report.feedbackType }, 'bounce intake: a not-spam report suppresses nobody');
      return 'ignored';
    }
    return this.complain(msg, index, recipient, report.feedbackType);
  }

  /** The message and recipient a token names, when its signature verifies for that recipient. */
  private async resolve(token: VerpToken): Promise<{ msg: MessageSummary; index: number; recipient: RecipientState } | null> {
    const msg = await this.messages.findSummaryById(token.queueId);
    const recipient = msg ? recipientsOf(msg)[token.index] : undefined;
    if (!msg || !recipient || !this.verp.verify(token, recipient.address)) return null;
    return { msg, index: token.index, recipient };
  }

  private async bounce(msg: MessageSummary, index: number, recipient: RecipientState, blocks: DsnRecipient[]): Promise<ReportOutcome> {
    const permanent = blocks.filter((b) => b.action === 'failed' && b.status.startsWith('5.'));
    const block = permanent.find((b) => b.finalRecipient === recipient.address.toLowerCase()) ?? permanent[0];
    if (!block) {
      this.logger.info({ queueId: msg._id, actions: blocks.map((b) => `${b.action} ${b.status}`) }, 'bounce intake: not a permanent failure; nothing changes');
      return 'ignored';
    }
    const reply: SmtpReply = parseReply(block.diagnostic) ?? { code: 550, enhanced: block.status, message: block.diagnostic ?? 'permanent failure (DSN)' };
    const now = this.clock.now();
    if (recipient.status !== 'bounced') {
      const reason = `bounced after delivery: a DSN reported ${block.status}`;
      const update = { address: recipient.address, status: 'bounced' as const, reply, remoteHost: block.remoteMta, reason, sent: false };
      const next = applyUpdates(recipientsOf(msg), [update], now);
      // A complaint recorded earlier stays on the recipient.
      if (recipient.complaint) next.changed.set(index, (next.recipients[index] = { ...next.recipients[index], complaint: recipient.complaint }));
      await this.write(msg, next, now);
    }
    await this.suppress(msg, recipient.address, 'bounce', reply);
    const after = await this.messages.findSummaryById(msg._id);
    await this.emit(after ?? msg, `${msg._id}-bounced-${recipient.address}`, 'message.bounced', recipient.address, {}, now);
    this.logger.info({ queueId: msg._id, index, status: block.status }, 'bounce intake: recipient bounced and suppressed');
    return 'bounced';
  }

  private async complain(msg: MessageSummary, index: number, recipient: RecipientState, feedbackType: string): Promise<ReportOutcome> {
    const now = this.clock.now();
    const recipients = recipientsOf(msg);
    const complained: RecipientState = { ...recipient, complaint: { feedbackType, at: now }, updatedAt: now };
    recipients[index] = complained;
    await this.write(msg, { recipients, changed: new Map([[index, complained]]) }, now);
    await this.suppress(msg, recipient.address, 'complaint', null);
    const after = await this.messages.findSummaryById(msg._id);
    await this.emit(after ?? msg, `${msg._id}-complained-${recipient.address}`, 'message.complained', recipient.address, { complaint: { feedbackType } }, now);
    this.logger.info({ queueId: msg._id, index, feedbackType }, 'bounce intake: complaint recorded and address suppressed');
    return 'complained';
  }

  private async write(msg: MessageSummary, next: { recipients: RecipientState[]; changed: Map<number, RecipientState> }, now: Date): Promise<void> {
    // While an attempt runs, it writes the status; a report changes only its recipient.
    const status = msg.status === 'sending' ? undefined : deriveMessageStatus(next.recipients);
    // A message spooled before per-recipient status has none stored: write the whole list.
    const recipientsAt = msg.recipients?.length ? next.changed : new Map(next.recipients.map((r, i) => [i, r]));
    await this.messages.recordReport(msg._id, { status, updatedAt: now, recipientsAt });
  }

  private async suppress(msg: MessageSummary, address: string, reason: 'bounce' | 'complaint', reply: SmtpReply | null): Promise<void> {
    try {
      await this.suppressions.suppress(msg.accountId, address, reason, reply);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      this.logger.warn({ queueId: msg._id, err: err.message }, 'bounce intake: the address could not be suppressed');
    }
  }

  private async emit(msg: MessageSummary, id: string, type: string, address: string, extra: Record<string, unknown>, now: Date): Promise<void> {
    const resource = toMessageResource(msg);
    const recipient = resource.recipients.find((r) => r.address === address) ?? null;
    const data = { ...resource, recipient, ...extra };
    if (await this.events.insertOnce({ _id: id, type, accountId: msg.accountId, domainId: msg.domainId, version: 0, data, createdAt: now })) {
      await this.dispatchEvents([id]).catch((err) => this.logger.warn({ err: (err as Error).message, queueId: msg._id }, 'webhook dispatch not enqueued; the sweep will'));
    }
  }
}
