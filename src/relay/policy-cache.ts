import type { Clock } from '../clock';
import { UnavailableError } from '../errors';
import type { PolicyDecision } from '../sending-policy/sending-policy.service';

export type { PolicyDecision };

interface Entry {
  decision: PolicyDecision;
  expiresAt: number;
}

/**
 * In-process cache of policy decisions. Redis pub/sub invalidates entries when a
 * domain changes; a miss goes to MongoDB. While the invalidation channel is down the
 * cache cannot be trusted, so it refuses to answer: the relay fails closed.
 */
export class PolicyCache {
  private readonly entries = new Map<string, Entry>();
  /** Bumped by every invalidation, so a load that raced one is not cached. */
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly load: (domainId: string) => Promise<PolicyDecision | null>,
    private readonly channelLive: () => boolean,
    private readonly clock: Clock,
    private readonly ttlMs = 60_000,
  ) {}

  /** The decision for a domain; UnavailableError when it cannot be vouched for. */
  async decide(domainId: string): Promise<PolicyDecision> {
    if (!this.channelLive()) throw new UnavailableError('policy invalidation channel is down');
    const now = this.clock.now().getTime();
    const hit = this.entries.get(domainId);
    if (hit && hit.expiresAt > now) return hit.decision;
    const generation = this.generations.get(domainId) ?? 0;
    const loaded = await this.load(domainId);
    const decision = loaded ?? { domainId, domain: '', allowed: false, reason: 'the domain no longer exists', limits: { rateLimitPerSecond: 0, dailyQuota: 0 } };
    if ((this.generations.get(domainId) ?? 0) === generation) {
      this.entries.set(domainId, { decision, expiresAt: now + this.ttlMs });
    }
    return decision;
  }

  invalidate(domainId: string): void {
    this.entries.delete(domainId);
    this.generations.set(domainId, (this.generations.get(domainId) ?? 0) + 1);
  }

  /** Drops everything (after the channel was down: messages may have been missed). */
  clear(): void {
    for (const id of this.entries.keys()) this.invalidate(id);
    this.entries.clear();
  }
}
