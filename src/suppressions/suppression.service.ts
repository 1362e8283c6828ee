import type { Clock } from '../clock';
import { isDuplicateKeyError, NotFoundError, ValidationError } from '../errors';
import type { ChangeNotifier } from '../events/change-notifier';
import { newId } from '../ids';
import { normalizeEmailAddress } from './email-address';
import type { SmtpReplyDoc, SuppressionDoc, SuppressionReason } from './suppression.model';
import { toSuppressionResource, type SuppressionResource } from './suppression.resource';
import type { SuppressionStore, SuppressionUpdate } from './suppression.store';
import type { SuppressionMetrics } from '../http/metrics';

export interface SuppressionPage {
  data: SuppressionResource[];
  nextCursor: string | null;
}

/** What the relay needs to know of an entry: whether, and until when, it suppresses. */
export interface SuppressionLookup {
  expiresAt: Date | null;
}

/** True while an entry with this expiry suppresses its address. */
export function suppressesAt(expiresAt: Date | null, now: Date): boolean {
  return expiresAt === null || new Date(expiresAt).getTime() > now.getTime();
}

/** The normalised address, or a ValidationError naming `field`. */
export function parseAddress(raw: string, field = 'address'): string {
  const parsed = normalizeEmailAddress(raw);
  if (!parsed.ok) throw new ValidationError(`${field} ${parsed.reason}`, [{ field, message: parsed.reason }]);
  return parsed.address;
}

/** `keep`: an existing entry keeps its reply (a new one gets none). */
type ReplyChange = SmtpReplyDoc | null | 'keep';

/**
 * An account's suppression list (DESIGN §2 step 6, §5, §6). Every change is published
 * through the ChangeNotifier, so relays drop what they cached for that address.
 */
export class SuppressionService {
  constructor(
    private readonly store: SuppressionStore,
    private readonly notifier: ChangeNotifier,
    private readonly clock: Clock,
    /** Addresses added, by reason (mailwarden_suppressions_added_total). */
    private readonly metrics?: SuppressionMetrics,
  ) {}

  /** A page of the account's entries in force, in address order; pass nextCursor as `after` for the next page. */
  async list(accountId: string, limit: number, after?: string): Promise<SuppressionPage> {
    const docs = await this.store.list(accountId, this.clock.now(), limit + 1, after);
    const page = docs.slice(0, limit);
    return { data: page.map(toSuppressionResource), nextCursor: docs.length > limit ? page[page.length - 1].address : null };
  }

  /**
   * Adds the address by hand (PUT), or changes the reason and expiry of its entry; an
   * entry caused by a bounce keeps its reply. `created` is true when the address was not
   * suppressed before (no entry, or only an expired one). ValidationError for a bad address.
   */
  async put(
    accountId: string,
    rawAddress: string,
    entry: { reason?: SuppressionReason; expiresAt?: Date | null },
  ): Promise<{ created: boolean; suppression: SuppressionResource }> {
    const address = parseAddress(rawAddress);
    const { created, doc } = await this.upsert(accountId, address, entry.reason ?? 'manual', entry.expiresAt ?? null, 'keep');
    return { created, suppression: toSuppressionResource(doc) };
  }

  /**
   * For the delivery engine: a hard bounce (or a complaint) suppresses the address from
   * now on, with the reply that caused it, without expiry. Safe under concurrency: the
   * first writer inserts, the others meet the unique index and update.
   */
  async suppress(accountId: string, rawAddress: string, reason: SuppressionReason, reply: SmtpReplyDoc | null): Promise<SuppressionResource> {
    const address = parseAddress(rawAddress);
    const { doc } = await this.upsert(accountId, address, reason, null, reply);
    return toSuppressionResource(doc);
  }

  /** Removes the address from the account's list; NotFoundError when it is not on it (or its entry expired). */
  async remove(accountId: string, rawAddress: string): Promise<void> {
    const address = parseAddress(rawAddress);
    const removed = await this.store.remove(accountId, address);
    if (!removed) throw new NotFoundError('suppression');
    await this.notifier.suppressionChanged(accountId, address);
    // An expired entry reads as absent: it is cleaned up all the same, and answers 404.
    if (!suppressesAt(removed.expiresAt, this.clock.now())) throw new NotFoundError('suppression');
  }

  /** The relay's question, for an address already normalised: the entry's expiry, or null when there is none. */
  async lookup(accountId: string, address: string): Promise<SuppressionLookup | null> {
    const doc = await this.store.find(accountId, address);
    return doc ? { expiresAt: doc.expiresAt ?? null } : null;
  }

  /**
   * Insert first, and update on a duplicate key: the unique index decides between
   * concurrent writers (a read-then-write would not, FerretDB v1 has no transactions).
   * An expired entry is renewed as a new one.
   */
  private async upsert(
    accountId: string,
    address: string,
    reason: SuppressionReason,
    expiresAt: Date | null,
    reply: ReplyChange,
  ): Promise<{ created: boolean; doc: SuppressionDoc }> {
    const now = this.clock.now();
    for (let attempt = 0; ; attempt++) {
      const doc: SuppressionDoc = {
        _id: newId('sup', now.getTime()),
        accountId,
        address,
        reason,
        reply: reply === 'keep' ? null : reply,
        createdAt: now,
        updatedAt: now,
        expiresAt,
      };
      try {
        await this.store.insert(doc);
        await this.notifier.suppressionChanged(accountId, address);
        this.metrics?.suppressions.inc({ reason });
        return { created: true, doc };
      } catch (err) {
        if (!isDuplicateKeyError(err) || attempt >= 3) throw err;
      }
      const existing = await this.store.find(accountId, address);
      // Removed since the insert failed: insert again.
      if (!existing) continue;
      const renewed = !suppressesAt(existing.expiresAt, now);
      const set: SuppressionUpdate = { reason, expiresAt, updatedAt: now };
      if (reply !== 'keep' || renewed) set.reply = reply === 'keep' ? null : reply;
      if (renewed) set.createdAt = now;
      const updated = await this.store.update(accountId, address, set);
      if (!updated) continue;
      await this.notifier.suppressionChanged(accountId, address);
      if (renewed) this.metrics?.suppressions.inc({ reason });
      return { created: renewed, doc: updated };
    }
  }
}
