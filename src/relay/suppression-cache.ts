import type { Clock } from '../clock';
import { UnavailableError } from '../errors';
import { normalizeEmailAddress } from '../suppressions/email-address';
import { suppressesAt, type SuppressionLookup } from '../suppressions/suppression.service';
import { withDeadline } from '../deadline';

export interface SuppressionCacheOptions {
  /** How long an answer is kept without any invalidation (a safety net; changes arrive over pub/sub at once). */
  ttlMs: number;
  /** The most (account, address) answers kept; the least recently used goes first. */
  maxEntries: number;
  /** The longest a miss may wait for the store before the client gets 451 (a silent store would hang the session). */
  loadDeadlineMs: number;
}

interface Entry {
  found: SuppressionLookup | null;
  cachedUntil: number;
}

/**
 * The relay's in-process view of suppression lists, per (account, address): an answer,
 * found or not, is loaded from MongoDB once and then served from memory until pub/sub
 * says that address changed (ChangeNotifier.suppressionChanged), so a message to the same
 * recipients again costs no query. Expiry is applied at each lookup, so a cached entry
 * stops suppressing the moment it expires. While the invalidation channel is down the
 * cache cannot be trusted, and it refuses to answer: the relay fails closed.
 */
export class SuppressionCache {
  /** In insertion order, which is the order of last use: the first key is evicted first. */
  private readonly entries = new Map<string, Entry>();
  /** Loads under way, shared by sessions asking about the same address at the same time. */
  private readonly inflight = new Map<string, Promise<SuppressionLookup | null>>();
  /** Bumped by every invalidation of an account, so a load that raced one is not cached. */
  private readonly generations = new Map<string, number>();
  /** Bumped by clear(). */
  private epoch = 0;

  constructor(
    private readonly load: (accountId: string, address: string) => Promise<SuppressionLookup | null>,
    private readonly channelLive: () => boolean,
    private readonly clock: Clock,
    private readonly options: SuppressionCacheOptions = { ttlMs: 5 * 60_000, maxEntries: 100_000, loadDeadlineMs: 2000 },
  ) {}

  /**
   * True when the address is on the account's list and its entry has not expired. An
   * address that does not parse cannot be on any list. UnavailableError while the
   * invalidation channel is down; the store's error (or DeadlineExceededError) when a
   * miss cannot be loaded.
   */
  async isSuppressed(accountId: string, rawAddress: string): Promise<boolean> {
    const parsed = normalizeEmailAddress(rawAddress);
    if (!parsed.ok) return false;
    if (!this.channelLive()) throw new UnavailableError('suppression invalidation channel is down');
    const key = keyOf(accountId, parsed.address);
    const now = this.clock.now();
    const hit = this.entries.get(key);
    let found: SuppressionLookup | null;
    if (hit && hit.cachedUntil > now.getTime()) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      found = hit.found;
    } else {
      found = await this.fetch(key, accountId, parsed.address);
    }
    return found !== null && suppressesAt(found.expiresAt, now);
  }

  /** Forgets the answer for one address (normalised) of the account. */
  invalidate(accountId: string, address: string): void {
    const key = keyOf(accountId, address);
    this.entries.delete(key);
    // Sessions asking from now on must not join a load that may have read the old state.
    this.inflight.delete(key);
    this.generations.set(accountId, (this.generations.get(accountId) ?? 0) + 1);
  }

  /** Drops everything (after the channel was down: messages may have been missed). */
  clear(): void {
    this.epoch++;
    this.entries.clear();
    this.inflight.clear();
    this.generations.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private generationOf(accountId: string): string {
    return `${this.epoch}:${this.generations.get(accountId) ?? 0}`;
  }

  private fetch(key: string, accountId: string, address: string): Promise<SuppressionLookup | null> {
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const generation = this.generationOf(accountId);
    const loading: Promise<SuppressionLookup | null> = withDeadline(this.load(accountId, address), this.options.loadDeadlineMs, 'suppression store')
      .then((found) => {
        if (this.generationOf(accountId) === generation) this.remember(key, found);
        return found;
      })
      .finally(() => {
        if (this.inflight.get(key) === loading) this.inflight.delete(key);
      });
    this.inflight.set(key, loading);
    return loading;
  }

  private remember(key: string, found: SuppressionLookup | null): void {
    this.entries.delete(key);
    this.entries.set(key, { found, cachedUntil: this.clock.now().getTime() + this.options.ttlMs });
    while (this.entries.size > this.options.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!);
    }
  }
}

const keyOf = (accountId: string, address: string) => `${accountId}\n${address}`;
