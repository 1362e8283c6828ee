import type { Clock } from '../clock';
import { NotFoundError, UnavailableError } from '../errors';
import type { DomainStore } from '../domains/domain.store';
import { withDomainLock } from '../domains/domain-lock';
import type { RedisLock } from '../queue/redis-lock';
import type { ChangeNotifier } from '../events/change-notifier';

/** The most CIDRs one domain's allowlist may hold. */
export const MAX_ALLOWED_IPS = 50;

/** The IP allowlist that lets clients connect to the relay for a domain (default: nobody). */
export class AllowedIpService {
  constructor(
    private readonly store: DomainStore,
    private readonly notifier: ChangeNotifier,
    private readonly clock: Clock,
    private readonly lock: RedisLock,
  ) {}

  /** The account's domain's allowlist, as normalised CIDRs; NotFoundError for another account's domain. */
  async get(accountId: string, domainId: string): Promise<{ cidrs: string[] }> {
    const cidrs = await this.store.findAllowedIps(accountId, domainId);
    if (!cidrs) throw new NotFoundError('domain');
    return { cidrs };
  }

  /**
   * Replaces the allowlist with `cidrs` (already normalised and deduplicated by the
   * caller) and tells the relays to reload it. The write stands even when the message
   * cannot be sent; the caller then gets UnavailableError, and repeating the same PUT
   * sends it again.
   */
  async replace(accountId: string, domainId: string, cidrs: string[]): Promise<{ cidrs: string[] }> {
    const replaced = await withDomainLock(this.lock, domainId, () => this.store.replaceAllowedIps(accountId, domainId, cidrs, this.clock.now()));
    if (!replaced) throw new NotFoundError('domain');
    try {
      await this.notifier.allowlistChanged(domainId);
    } catch (err) {
      throw new UnavailableError(
        `the allowed IPs were saved, but the relays could not be told (${(err as Error).message}); repeat the request`,
      );
    }
    return { cidrs };
  }
}
