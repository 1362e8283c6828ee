import type { Clock } from '../clock';
import { InvalidatedCache } from '../events/invalidated-cache';
import type { DkimSelectorDoc } from '../domains/domain.model';
import type { PolicyDecision } from '../sending-policy/sending-policy.service';

/** What a delivery attempt needs of its domain: the sending decision and the DKIM selectors. */
export interface DeliveryDomain {
  /** null when the domain no longer exists. */
  decision: PolicyDecision | null;
  /** The domain's selectors; null when the domain no longer exists. */
  dkim: DkimSelectorDoc[] | null;
}

/**
 * The worker's per-domain cache of what delivery reads about a domain, so that an attempt
 * does not read the domain by `_id` (a full collection scan on FerretDB) per message.
 * Entries are dropped by the policy invalidation channel (a domain's state, limits or
 * selectors changed). Unlike the relay's PolicyCache this one fails open to the database:
 * while the channel is down every call reads the domain directly, and nothing is cached,
 * so a missed invalidation never keeps a stale decision.
 */
export class DeliveryDomainCache extends InvalidatedCache<DeliveryDomain> {
  constructor(load: (domainId: string) => Promise<DeliveryDomain>, channelLive: () => boolean, clock: Clock, ttlMs = 30_000) {
    super(load, channelLive, clock, { ttlMs, failClosed: false, channel: 'policy' });
  }
}
