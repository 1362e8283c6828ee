import type { Clock } from '../clock';
import type { SendingLimits } from '../limits/sending-quota';
import { nextUtcMidnight } from '../limits/sending-quota';
import type { Logger } from '../logger';
import type { DomainDoc } from './domain.model';
import type { DomainQuota } from './domain.resource';
import { withDeadline } from '../deadline';

export type { SendingLimits };

/** The limits the relay applies to a domain: its own, or the configured defaults where it has none. */
export function sendingLimits(doc: Pick<DomainDoc, 'rateLimitPerSecond' | 'dailyQuota'>, defaults: SendingLimits): SendingLimits {
  return {
    rateLimitPerSecond: doc.rateLimitPerSecond ?? defaults.rateLimitPerSecond,
    dailyQuota: doc.dailyQuota ?? defaults.dailyQuota,
  };
}

/** Where the relay counts recipients (SendingQuota in Redis). */
export interface RecipientCounter {
  sentToday(domainIds: string[], now: Date): Promise<number[]>;
}

/**
 * The `quota` of the domain resource: the limits in force and the recipients counted
 * today. Usage is shown, never required: when the counters cannot be read within
 * `readTimeoutMs` (Redis away or silent), `sentToday` is null and the route still answers.
 */
export class DomainQuotaView {
  constructor(
    private readonly counter: RecipientCounter,
    private readonly defaults: SendingLimits,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly readTimeoutMs = 1000,
  ) {}

  /** The limits the relay applies to the domain. */
  limitsOf(doc: DomainDoc): SendingLimits {
    return sendingLimits(doc, this.defaults);
  }

  /** One quota per domain, in the order given. */
  async of(docs: DomainDoc[]): Promise<DomainQuota[]> {
    const now = this.clock.now();
    const counts = await this.readCounts(docs.map((d) => d._id), now);
    const resetsAt = nextUtcMidnight(now).toISOString();
    return docs.map((d, i) => ({ ...this.limitsOf(d), sentToday: counts?.[i] ?? null, resetsAt }));
  }

  /** The quota of a domain nobody has sent for yet. */
  fresh(doc: DomainDoc): DomainQuota {
    return { ...this.limitsOf(doc), sentToday: 0, resetsAt: nextUtcMidnight(this.clock.now()).toISOString() };
  }

  private async readCounts(ids: string[], now: Date): Promise<number[] | null> {
    if (ids.length === 0) return [];
    try {
      return await withDeadline(this.counter.sentToday(ids, now), this.readTimeoutMs, 'redis (recipient counters)');
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'domain quota: the recipient counters could not be read; sentToday shown as null');
      return null;
    }
  }
}
