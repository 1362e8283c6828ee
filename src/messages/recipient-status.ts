import type { SmtpReply } from './smtp-reply';

/** Where one recipient of a message stands (DESIGN §2 step 6, §6). */
export type RecipientStatus = 'queued' | 'deferred' | 'delivered' | 'bounced' | 'suppressed' | 'held' | 'failed';

export const RECIPIENT_STATUSES = ['queued', 'deferred', 'delivered', 'bounced', 'suppressed', 'held', 'failed'] as const;

/** The recipient states a delivery attempt still sends to. */
export const PENDING_RECIPIENT_STATUSES: readonly RecipientStatus[] = ['queued', 'deferred', 'held'];

/** One recipient of a spooled message, with the last word about it. */
export interface RecipientState {
  address: string;
  status: RecipientStatus;
  /** The remote server's last reply about this recipient; null when none decided (DNS, network, policy, capture). */
  reply: SmtpReply | null;
  /** `mx.example.com[192.0.2.1]` (or the smarthost) when a server was reached. */
  remoteHost: string | null;
  /** One line for people: why the recipient is where it is (`expired` once the retry window closed). */
  reason: string | null;
  /** Delivery attempts that included this recipient. */
  attempts: number;
  updatedAt: Date;
  /** The recipient's complaint (an ARF report through the return path), once one arrived. */
  complaint?: { feedbackType: string; at: Date };
}

/**
 * The message statuses derived from recipients, plus `sending`, the transient state of a
 * message while an attempt runs.
 */
export type DerivedMessageStatus = 'queued' | 'deferred' | 'held' | 'delivered' | 'bounced' | 'failed';

export function isPending(status: RecipientStatus): boolean {
  return PENDING_RECIPIENT_STATUSES.includes(status);
}

/** Every recipient of a freshly spooled message: queued, nothing said yet. */
export function queuedRecipients(addresses: string[], now: Date): RecipientState[] {
  return [...new Set(addresses)].map((address) => ({ address, status: 'queued', reply: null, remoteHost: null, reason: null, attempts: 0, updatedAt: now }));
}

/**
 * The message's status from its recipients' (DESIGN §6):
 * - while any recipient is pending: `held` if one is held, else `deferred` if one is deferred, else `queued`;
 * - once all are final: `delivered` when every one was delivered; `failed` when none was
 *   (every recipient bounced, was suppressed or failed: the message reached nobody); `bounced`
 *   when some were delivered and some bounced; `failed` when some were delivered and the
 *   others failed without a bounce (cancelled, or the domain stayed held until the window closed).
 */
export function deriveMessageStatus(recipients: ReadonlyArray<Pick<RecipientState, 'status'>>): DerivedMessageStatus {
  const has = (s: RecipientStatus) => recipients.some((r) => r.status === s);
  if (has('held')) return 'held';
  if (has('deferred')) return 'deferred';
  if (has('queued') || recipients.length === 0) return 'queued';
  if (recipients.every((r) => r.status === 'delivered')) return 'delivered';
  if (!has('delivered')) return 'failed';
  return has('bounced') ? 'bounced' : 'failed';
}

/** True once the derived status can no longer change by delivery. */
export function isFinalMessageStatus(status: string): boolean {
  return status === 'delivered' || status === 'bounced' || status === 'failed';
}

/** What one attempt decided about one recipient. */
export interface RecipientUpdate {
  address: string;
  status: RecipientStatus;
  reply: SmtpReply | null;
  remoteHost: string | null;
  reason: string | null;
  /** False for a decision taken without sending (held, failed by an operator): attempts stay as they were. */
  sent: boolean;
}

/**
 * Applies an attempt's updates to the recipients: the new list, and the changed entries
 * by index (what the store writes). Recipients no update names are left as they were.
 */
export function applyUpdates(
  recipients: RecipientState[],
  updates: RecipientUpdate[],
  now: Date,
): { recipients: RecipientState[]; changed: Map<number, RecipientState> } {
  const byAddress = new Map(updates.map((u) => [u.address, u]));
  const changed = new Map<number, RecipientState>();
  const next = recipients.map((r, i) => {
    const u = byAddress.get(r.address);
    if (!u) return r;
    const after: RecipientState = {
      address: r.address,
      status: u.status,
      reply: u.reply,
      remoteHost: u.remoteHost,
      reason: u.reason,
      attempts: r.attempts + (u.sent ? 1 : 0),
      updatedAt: now,
    };
    changed.set(i, after);
    return after;
  });
  return { recipients: next, changed };
}

/**
 * Why the recipients still pending after an attempt must give up, or null while they may
 * wait for another: `age` once the message is `maxAgeMs` old (DELIVERY_MAX_AGE_MS, as
 * Postfix's maximal_queue_lifetime), else `retries` on the job's last attempt.
 */
export function expiryOf(createdAt: Date, now: Date, maxAgeMs: number, lastAttempt: boolean): 'age' | 'retries' | null {
  if (now.getTime() - new Date(createdAt).getTime() >= maxAgeMs) return 'age';
  return lastAttempt ? 'retries' : null;
}
