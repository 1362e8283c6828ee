import type { Clock } from '../clock';
import type { DkimSelectorDoc } from '../domains/domain.model';
import type { PolicyDecision } from '../sending-policy/sending-policy.service';

/** What a delivery attempt needs of its domain: the sending decision and the DKIM selectors. */
export interface DeliveryDomain {
  /** null when the domain no longer exists. */
  decision: PolicyDecision | null;
  /** The domain's selectors; null when the domain no longer exists. */
  dkim: DkimSelectorDoc[] | null;
}

interface Entry {
  value: DeliveryDomain;
  expiresAt: number;
}

/**
 * The worker's per-domain cache of what delivery reads about a domain, so that an attempt
 * does not read the domain by `_id` (a full collection scan on FerretDB) per message.
 * Entries live `ttlMs` and are dropped by the policy invalidation channel (a domain's
 * state, limits or selectors changed). Unlike the relay's PolicyCache this one fails open
 * to the database: while the channel is down every call reads the domain directly, and
 * nothing is cached, so a missed invalidation never keeps a stale decision.
 */
export class DeliveryDomainCache {
  private readonly entries = new Map<string, Entry>();
  /** Bumped by every invalidation, so a load that raced one is not cached. */
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly load: (domainId: string) => Promise<DeliveryDomain>,
    private readonly channelLive: () => boolean,
    private readonly clock: Clock,
    private readonly ttlMs = 30_000,
  ) {}

  async get(domainId: string): Promise<DeliveryDomain> {
    if (!this.channelLive()) return this.load(domainId);
    const now = this.clock.now().getTime();
    const hit = this.entries.get(domainId);
    if (hit && hit.expiresAt > now) return hit.value;
    const generation = this.generations.get(domainId) ?? 0;
    const value = await this.load(domainId);
    if (this.channelLive() && (this.generations.get(domainId) ?? 0) === generation) {
      this.entries.set(domainId, { value, expiresAt: now + this.ttlMs });
    }
    return value;
  }

  invalidate(domainId: string): void {
    this.entries.delete(domainId);
    this.generations.set(domainId, (this.generations.get(domainId) ?? 0) + 1);
  }

  /** Drops everything (the channel was down: invalidations may have been missed). */
  clear(): void {
    for (const id of [...this.entries.keys()]) this.invalidate(id);
  }
}
