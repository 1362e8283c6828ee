import type { Config } from '../config';
import type { Logger } from '../logger';
import { maxDeliveryRetryDelay } from '../queue/delivery-jobs';
import type { JobProducer } from '../queue/producers';
import { deliveryHoldReason, type SendingPolicy } from '../sending-policy/sending-policy.service';
import type { MessageStatus } from './message.model';
import type { MessageStore } from './message.store';

const BATCH = 500;

/**
 * Rebuilds delivery jobs from MongoDB, the source of truth: losing Redis (or a crash
 * between spooling and enqueueing) must cost time, never a message (DESIGN §1).
 */
export class MessageRecovery {
  constructor(
    private readonly messages: MessageStore,
    private readonly producer: JobProducer,
    private readonly policy: Pick<SendingPolicy, 'forDomain'>,
    private readonly config: Pick<Config, 'delivery'>,
    private readonly logger: Logger,
  ) {}

  /**
   * Re-adds the delivery job of every unfinished message untouched since `olderThan`.
   * The job keeps its jobId, so while the job exists the add is a no-op (BullMQ's atomic
   * dedup) and only a lost job is recreated. A deferred or held message legitimately waits
   * up to the longest backoff delay, so it counts as stuck only after that much longer.
   * Cheap when nothing is stuck: one indexed equality+range query per status.
   */
  async requeueStuck(olderThan: Date): Promise<number> {
    const backedOff = new Date(olderThan.getTime() - maxDeliveryRetryDelay(this.config.delivery.retryBaseMs));
    const cutoffs: Array<[MessageStatus, Date]> = [
      ['queued', olderThan],
      ['sending', olderThan],
      ['deferred', backedOff],
      ['held', backedOff],
    ];
    let requeued = 0;
    for (const [status, cutoff] of cutoffs) {
      const ids = await this.messages.findStale(status, cutoff, BATCH);
      if (ids.length === 0) continue;
      await this.producer.enqueueDeliveries(ids);
      requeued += ids.length;
      this.logger.info({ status, count: ids.length }, 'stale messages: delivery jobs re-added (a no-op where the job still exists)');
    }
    return requeued;
  }

  /**
   * Called when a domain's sending decision changes: if the domain may send again (and a
   * return path with fallback reject is verified again: deliveryHoldReason), its
   * held messages are delivered now rather than at their next backoff delay. Only a
   * shortcut: without it they still go out on that schedule. Returns how many were released.
   */
  async releaseHeld(domainId: string): Promise<number> {
    const decision = await this.policy.forDomain(domainId);
    if (!decision || deliveryHoldReason(decision)) return 0;
    let released = 0;
    let after: string | null = null;
    for (;;) {
      const ids = await this.messages.findHeldIds(domainId, after, BATCH);
      if (ids.length === 0) break;
      await this.producer.expediteDeliveries(ids);
      released += ids.length;
      after = ids[ids.length - 1];
      if (ids.length < BATCH) break;
    }
    if (released) this.logger.info({ domainId, count: released }, 'the domain may send again: its held messages are released');
    return released;
  }
}
