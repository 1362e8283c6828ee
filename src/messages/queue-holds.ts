import type { Clock } from '../clock';
import { InvalidatedCache } from '../events/invalidated-cache';
import { holdKey } from './queue-hold.model';

/** The reason an operator-held recipient carries (and the message's hold). */
export const OPERATOR_HOLD_REASON = 'held by an operator';

const ALL = 'all';

/**
 * The worker's snapshot of every operator hold (a handful of domains and accounts), so a
 * delivery attempt asks an in-process set instead of MongoDB or Redis. The snapshot is
 * dropped when ChangeNotifier.queueHoldsChanged says a hold was added or removed; while
 * that channel is down every call reads the holds afresh (fail open to the store, as the
 * delivery domain cache does), so a missed message never keeps a stale answer.
 */
export class QueueHolds {
  private readonly cache: InvalidatedCache<Set<string>>;

  constructor(
    private readonly load: () => Promise<string[]>,
    channelLive: () => boolean,
    clock: Clock,
    ttlMs = 30_000,
  ) {
    this.cache = new InvalidatedCache(async () => new Set(await load()), channelLive, clock, { ttlMs, failClosed: false, channel: 'queue-hold' });
  }

  /**
   * Why mail of this domain (or its account) must not be attempted now; null when it may.
   * A "held" from the snapshot is confirmed by a fresh read: a release re-enqueues the mail
   * at once, possibly before its invalidation reaches this worker, and held mail is rare
   * enough to afford the read (mail that may go, the hot path, never pays it).
   */
  async heldBy(domainId: string, accountId: string): Promise<string | null> {
    const cached = reasonIn(await this.cache.get(ALL), domainId, accountId);
    if (cached === null) return null;
    return reasonIn(new Set(await this.load()), domainId, accountId);
  }

  /** A hold was added or removed somewhere. */
  invalidate(): void {
    this.cache.invalidate(ALL);
  }
}

function reasonIn(holds: Set<string>, domainId: string, accountId: string): string | null {
  if (holds.size === 0) return null;
  if (holds.has(holdKey({ domainId }))) return `${OPERATOR_HOLD_REASON} (domain)`;
  if (holds.has(holdKey({ accountId }))) return `${OPERATOR_HOLD_REASON} (account)`;
  return null;
}
