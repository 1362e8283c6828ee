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
