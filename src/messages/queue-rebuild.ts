import type { Logger } from '../logger';
import type { JobProducer } from '../queue/producers';
import type { MessageStatus } from './message.model';
import type { QueuedMessageStore } from './queued-message.store';

const PAGE = 500;

/**
 * Puts back the delivery job of every unfinished message after Redis lost its data (MongoDB
 * is the source of truth, DESIGN §1): without it the mail whose jobs vanished would wait
 * for the stuck-message sweep (10 minutes). Re-adding is a no-op for a job that exists.
 */
export class QueueRebuild {
  constructor(
    private readonly messages: QueuedMessageStore,
    private readonly producer: Pick<JobProducer, 'enqueueDeliveries'>,
    private readonly logger: Logger,
  ) {}

  /**
   * Re-adds the jobs of messages in `statuses` (untouched since `updatedBefore` when given:
   * a `sending` message may still be in a live attempt, whose lock vanished with Redis).
   * Returns how many jobs were re-added (or found in place).
   */
  async rebuild(statuses: MessageStatus[], updatedBefore?: Date): Promise<number> {
    let count = 0;
    for (const status of statuses) {
      let after: string | null = null;
      for (;;) {
        const ids = await this.messages.findAnyIds(status, after, PAGE, updatedBefore);
        if (ids.length > 0) await this.producer.enqueueDeliveries(ids);
        count += ids.length;
        if (ids.length < PAGE) break;
        after = ids[ids.length - 1];
      }
    }
    if (count) this.logger.warn({ statuses, count }, 'redis lost its data: delivery jobs re-added from MongoDB');
    return count;
  }
}
