import type { ChangeNotifier } from '../events/change-notifier';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import { ConflictError, NotFoundError, isDuplicateKeyError } from '../errors';
import { newId } from '../ids';
import { generateDkimKeyPair, type DkimAlgorithm } from '../keys/dkim-keys';
import type { KeyCipher } from '../keys/key-cipher';
import type { DomainDoc } from './domain.model';
import { toDomainResource, type DomainResource } from './domain.resource';
import type { DomainStore } from './domain.store';
import type { DomainQuotaView } from './sending-limits';
import type { AccountQuota } from '../limits/account-quota';

export interface DomainServiceOptions {
  spfIncludeDomain: string;
  propagationWindowMs: number;
  /** MAX_DOMAINS_PER_ACCOUNT. */
  maxDomainsPerAccount: number;
}

/**
 * What removing a domain needs from the SMTP users (the smtp-users store in production);
 * declared here so that domains/ does not import smtp-users/, which imports domains/.
 */
export interface DomainSmtpUsers {
  deleteForDomain(domainId: string): Promise<unknown>;
}

export interface DomainPage {
  data: DomainResource[];
  nextCursor: string | null;
}

export class DomainService {
  constructor(
    private readonly store: DomainStore,
    private readonly smtpUsers: DomainSmtpUsers,
    private readonly cipher: KeyCipher,
    private readonly clock: Clock,
    private readonly notifier: ChangeNotifier,
    private readonly quota: DomainQuotaView,
    private readonly accountQuota: AccountQuota,
    private readonly options: DomainServiceOptions,
  ) {}

  /**
   * Registers a sending domain for an account: issues a DKIM key pair under a fresh
   * UUID selector (private key sealed at rest) and the SPF value, and starts the
   * propagation window. The first check is due at once. QuotaExceededError (409) once the
   * account has MAX_DOMAINS_PER_ACCOUNT domains (AccountQuota: exact under concurrent
   * registrations, and never more than the cap).
   */
  async register(accountId: string, domain: string, algorithm: DkimAlgorithm): Promise<DomainResource> {
    const max = this.options.maxDomainsPerAccount;
    // An account at its cap spends no key generation.
    await this.accountQuota.precheck('domains', accountId, max);
    const key = await generateDkimKeyPair(algorithm);
    const selector = randomUUID();
    const now = this.clock.now();
    const doc: DomainDoc = {
      _id: newId('dom', now.getTime()),
      accountId,
      domain,
      status: 'pending',
      approval: 'not_submitted',
      approvalReason: null,
      version: 1,
      spfInclude: this.options.spfIncludeDomain,
      dkim: [
        {
          selector,
          algorithm,
          keyType: key.keyType,
          publicKey: key.publicKey,
          privateKey: this.cipher.seal(key.privateKeyPem, selector),
          status: 'active',
          createdAt: now,
          activatedAt: now,
        },
      ],
      dkimRotatableSince: now,
      records: [],
      dmarc: { found: null, advice: null },
      startedAt: now,
      deadlineAt: new Date(now.getTime() + this.options.propagationWindowMs),
      nextCheckAt: now,
      lastCheckedAt: null,
      verifiedAt: null,
      suspendedAt: null,
      checkState: null,
      outbox: [],
      outboxSince: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.accountQuota.admit('domains', accountId, max, {
      count: () => this.store.countForAccount(accountId),
      create: async () => {
        try {
          await this.store.insert(doc);
        } catch (err) {
          if (isDuplicateKeyError(err)) throw new ConflictError(`${domain} is already registered for this account`);
          throw err;
        }
      },
      undo: async () => void (await this.store.deleteForAccount(accountId, doc._id)),
    });
    return toDomainResource(doc, this.quota.fresh(doc));
  }

  /** One domain of the account, with its sending limits and usage; NotFoundError for any other account's id. */
  async get(accountId: string, id: string): Promise<DomainResource> {
    const doc = await this.store.findForAccount(accountId, id);
    if (!doc) throw new NotFoundError('domain');
    const [quota] = await this.quota.of([doc]);
    return toDomainResource(doc, quota);
  }

  /** A page of the account's domains, oldest first; pass nextCursor as `after` for the next page. */
  async list(accountId: string, limit: number, after?: string): Promise<DomainPage> {
    const docs = await this.store.listForAccount(accountId, limit + 1, after);
    const page = docs.slice(0, limit);
    const quotas = await this.quota.of(page);
    return { data: page.map((d, i) => toDomainResource(d, quotas[i])), nextCursor: docs.length > limit ? page[page.length - 1]._id : null };
  }

  /**
   * Sets any account's domain's sending limits (admin): recipients per second and per UTC
   * day, a null limit going back to the configured default. Relays apply them once the
   * change reaches them over pub/sub. NotFoundError when there is no such domain.
   */
  async setSendingLimits(id: string, limits: { rateLimitPerSecond?: number | null; dailyQuota?: number | null }): Promise<DomainResource> {
    const doc = await this.store.setSendingLimits(id, limits, this.clock.now());
    if (!doc) throw new NotFoundError('domain');
    await this.notifier.policyChanged(id);
    const [quota] = await this.quota.of([doc]);
    return toDomainResource(doc, quota);
  }

  /** Removes the domain, which ends its checks, and its SMTP users. */
  async remove(accountId: string, id: string): Promise<void> {
    if (!(await this.store.deleteForAccount(accountId, id))) throw new NotFoundError('domain');
    await this.accountQuota.forget('domains', accountId);
    // Domain first, users second: SmtpUserService.create looks for the domain again after
    // its insert, so a user created during this delete is removed by one side or the other.
    await this.smtpUsers.deleteForDomain(id);
    // Relays drop the decision and the allowed networks they cached for it.
    await Promise.all([this.notifier.policyChanged(id), this.notifier.allowlistChanged(id)]);
  }

  /** The sealed private key of a selector, opened (for signing only; never returned by a route). */
  openPrivateKey(doc: DomainDoc, selector: string): string {
    const sel = doc.dkim.find((s) => s.selector === selector);
    if (!sel) throw new NotFoundError('selector');
    return this.cipher.open(sel.privateKey, selector);
  }
}
