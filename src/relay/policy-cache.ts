import type { Clock } from '../clock';
import { InvalidatedCache } from '../events/invalidated-cache';
import type { PolicyDecision } from '../sending-policy/sending-policy.service';

export type { PolicyDecision };

/**
 * The relay's in-process cache of sending decisions. Redis pub/sub invalidates entries
 * when a domain changes; a miss goes to MongoDB. While the invalidation channel is down
 * the cache cannot be trusted, so it refuses to answer: the relay fails closed.
 */
export class PolicyCache extends InvalidatedCache<PolicyDecision> {
  constructor(load: (domainId: string) => Promise<PolicyDecision | null>, channelLive: () => boolean, clock: Clock, ttlMs = 60_000) {
    super(
      async (domainId) =>
        (await load(domainId)) ?? {
          domainId,
          domain: '',
          allowed: false,
          reason: 'the domain no longer exists',
          limits: { rateLimitPerSecond: 0, dailyQuota: 0 },
        },
      channelLive,
      clock,
      { ttlMs, failClosed: true, channel: 'policy' },
    );
  }

  /** The decision for a domain; UnavailableError when it cannot be vouched for. */
  decide(domainId: string): Promise<PolicyDecision> {
    return this.get(domainId);
  }
}
