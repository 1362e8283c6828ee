import type { Clock } from '../clock';
import { NotFoundError, ValidationError } from '../errors';
import type { ChangeNotifier } from '../events/change-notifier';
import type { Logger } from '../logger';
import type { JobProducer } from '../queue/producers';
import type { RedisLock } from '../queue/redis-lock';
import { withDomainLock } from './domain-lock';
import { toDomainResource, type DomainResource } from './domain.resource';
import type { DomainStore } from './domain.store';
import { earlier, newReturnPath, parseReturnPathSubdomain, type ReturnPathFallback } from './return-path';

export interface ReturnPathOptions {
  /** RETURN_PATH_MX_HOST. */
  mxHost: string;
  propagationWindowMs: number;
}

/**
 * A domain's custom MAIL FROM (DESIGN §6): sets the subdomain and its fallback; the
 * records are then checked with every check of the domain (LifecycleService).
 */
export class ReturnPathService {
  constructor(
    private readonly domains: DomainStore,
    private readonly lock: RedisLock,
    private readonly producer: JobProducer,
    private readonly notifier: ChangeNotifier,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: ReturnPathOptions,
  ) {}

  /**
   * Sets the return path. A new subdomain starts pending, with a 72 h window of its own,
   * and a check is queued at once; the same subdomain again keeps its verification and
   * changes only the fallback (a failed one starts over). ValidationError (field `subdomain`) for a name that is not
   * a proper subdomain of the domain; NotFoundError for another account's domain.
   */
  async set(accountId: string, domainId: string, input: { subdomain: string; fallback?: ReturnPathFallback }): Promise<DomainResource> {
    const found = await this.domains.findForAccount(accountId, domainId);
    if (!found) throw new NotFoundError('domain');
    const parsed = parseReturnPathSubdomain(found.domain, input.subdomain);
    if (!parsed.ok) throw new ValidationError(`subdomain ${parsed.reason}`, [{ field: 'subdomain', message: parsed.reason }]);
    const updated = await withDomainLock(this.lock, domainId, async () => {
      const d = await this.domains.findForAccount(accountId, domainId);
      if (!d) throw new NotFoundError('domain');
      const now = this.clock.now();
      // The same subdomain keeps its verification, unless its window closed: then it starts over.
      const same = d.returnPath?.subdomain === parsed.subdomain && d.returnPath.status !== 'failed';
      const fallback = input.fallback ?? (same ? d.returnPath!.fallback : 'use_sender');
      const returnPath = same ? { ...d.returnPath!, fallback } : newReturnPath(parsed.subdomain, fallback, this.options.mxHost, now, this.options.propagationWindowMs);
      const changes = {
        returnPath,
        version: d.version + 1,
        updatedAt: now,
        // A failed domain stays unchecked until the owner reopens it (POST .../verify).
        ...(same || d.status === 'failed' ? {} : { nextCheckAt: earlier(d.nextCheckAt, now) }),
      };
      if (!(await this.domains.updateIfVersion(d._id, d.version, changes))) throw new Error('the domain changed under its lock');
      return { ...d, ...changes };
    });
    await this.notifier.policyChanged(domainId);
    if (updated.nextCheckAt && updated.status !== 'failed') {
      await this.producer.enqueueCheck(domainId).catch((err) => this.logger.warn({ domainId, err: (err as Error).message }, 'return path: check not enqueued; the sweep will'));
    }
    this.logger.info({ domainId, subdomain: parsed.subdomain, fallback: updated.returnPath.fallback }, 'return path set');
    return toDomainResource(updated);
  }
}
