import { normalizeDomainName } from '../domains/domain-name';
import { sendingDecision, type SendingDecision } from '../domains/domain-state';
import type { DomainStore } from '../domains/domain.store';
import { returnPathDecision, returnPathMode, type ReturnPathDecision, type ReturnPathMode } from '../domains/return-path';
import { sendingLimits, type SendingLimits } from '../domains/sending-limits';

/** The sending decision for one domain, as the relay caches it, with the limits it counts recipients against. */
export interface PolicyDecision extends SendingDecision {
  domainId: string;
  domain: string;
  limits: SendingLimits;
  /** The envelope sender delivery uses (VERP while the return path is verified) and the relay's MAIL FROM rule; absent: use_sender. */
  returnPath?: ReturnPathDecision;
}

/**
 * Why mail of this domain that is already spooled must not leave now, or null when it may:
 * the domain may not send (suspended, not approved, ...), or its return path is not verified
 * and its fallback is `reject`. The owner chose that no mail leave with the client's own
 * envelope sender, and a VERP address at an unverified subdomain may have no MX to take the
 * bounces and no SPF to pass; so the mail waits, as the relay makes new mail wait (451 4.7.1),
 * until the return path verifies again or the message reaches DELIVERY_MAX_AGE_MS.
 */
export function deliveryHoldReason(decision: PolicyDecision): string | null {
  if (!decision.allowed) return decision.reason;
  if (decision.returnPath?.mode === 'reject') {
    const at = decision.returnPath.subdomain ? ` ${decision.returnPath.subdomain}` : '';
    return `the return path${at} is not verified and its fallback is reject: held until it verifies again`;
  }
  return null;
}

/** The decision for a sender address (GET /v1/policy). */
export interface SenderDecision extends SendingDecision {
  sender: string;
  domain?: string;
  domainId?: string;
  /** The envelope sender mail from it leaves with now (VERP while the return path is verified), or `reject`; only for a registered domain. */
  returnPath?: ReturnPathMode;
}

/**
 * THE place that answers "may this domain send now?" (DESIGN §3): the relay's policy
 * cache loads through it and GET /v1/policy asks it; both apply the state machine's
 * `sendingDecision` rule, which the domain resource shows.
 */
export class SendingPolicy {
  constructor(
    private readonly domains: DomainStore,
    /** DEFAULT_RATE_PER_SECOND and DEFAULT_DAILY_QUOTA, for domains without limits of their own. */
    private readonly defaultLimits: SendingLimits,
  ) {}

  /** The decision for any account's domain; null when the domain does not exist. */
  async forDomain(domainId: string): Promise<PolicyDecision | null> {
    const d = await this.domains.findById(domainId);
    return d
      ? { domainId, domain: d.domain, ...sendingDecision(d), limits: sendingLimits(d, this.defaultLimits), returnPath: returnPathDecision(d.returnPath) }
      : null;
  }

  /** The decision for a sender address of the account; a domain it has not registered is never allowed. */
  async forSender(accountId: string, sender: string): Promise<SenderDecision> {
    const name = normalizeDomainName(sender.slice(sender.lastIndexOf('@') + 1));
    const d = name.ok ? await this.domains.findByName(accountId, name.domain) : null;
    if (!d) return { sender, allowed: false, reason: 'the sender domain is not registered for this account' };
    return { sender, domain: d.domain, domainId: d._id, ...sendingDecision(d), returnPath: returnPathMode(d.returnPath) };
  }
}
