import { deliveryJob } from './delivery-jobs';
import { QUEUES, scheduledCheckJobId, verifyJobId, webhookDispatchJobId, webhookJobId, type QueueRegistry } from './queues';
import { webhookJobOptions } from './webhook-jobs';

export interface ProducerOptions {
  /** DELIVERY_RETRY_BASE_MS: the unit of the delivery backoff schedule. */
  deliveryRetryBaseMs: number;
  /** WEBHOOK_RETRY_BASE_MS: the unit of the webhook backoff schedule. */
  webhookRetryBaseMs: number;
}

// Finished dispatch jobs, failed ones too, leave no id behind: the same event (or the
// next scan) can always be enqueued again, and a re-run finds the event dispatched.
const DISPATCH_JOB_OPTIONS = { attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: true } as const;

/**
 * The one way services put work on a queue: each job kind has one typed function here
 * that owns its job id (BullMQ's atomic dedup makes every enqueue safe to repeat),
 * attempts and backoff.
 */
export class JobProducer {
  constructor(
    private readonly queues: QueueRegistry,
    private readonly options: ProducerOptions,
  ) {}

  /**
   * Due checks found by a sweep, one job each, named after the domain and its due time:
   * two sweepers that find the same due domain add one job.
   */
  async enqueueChecks(due: Array<{ domainId: string; nextCheckAt: Date }>): Promise<void> {
    if (due.length === 0) return;
    await this.queues.get(QUEUES.dnsCheck).addBulk(
      due.map((d) => ({
        name: QUEUES.dnsCheck,
        data: { domainId: d.domainId, trigger: 'scheduled' as const },
        opts: { jobId: scheduledCheckJobId(d.domainId, new Date(d.nextCheckAt).getTime()) },
      })),
    );
  }

  /** "Verify now": one queued verify per domain at a time. */
  async enqueueCheck(domainId: string): Promise<void> {
    await this.queues.get(QUEUES.dnsCheck).add(QUEUES.dnsCheck, { domainId, trigger: 'verify' }, { jobId: verifyJobId(domainId) });
  }

  /** The delivery job of a spooled message; repeating it while the job exists is a no-op. */
  async enqueueDelivery(queueId: string): Promise<void> {
    await this.queues.get(QUEUES.delivery).add(...deliveryJob({ delivery: { retryBaseMs: this.options.deliveryRetryBaseMs } }, queueId));
  }

  /** Delivery jobs for several messages at once (recovery re-adds lost ones; existing ones stay as they are). */
  async enqueueDeliveries(queueIds: string[]): Promise<void> {
    if (queueIds.length === 0) return;
    const config = { delivery: { retryBaseMs: this.options.deliveryRetryBaseMs } };
    await this.queues.get(QUEUES.delivery).addBulk(
      queueIds.map((id) => {
        const [name, data, opts] = deliveryJob(config, id);
        return { name, data, opts };
      }),
    );
  }

  /** One webhook attempt series per (event, subscription): a dispatcher run twice never delivers twice. */
  async enqueueWebhook(eventId: string, webhookId: string): Promise<void> {
    await this.queues
      .get(QUEUES.webhook)
      .add(QUEUES.webhook, { eventId, webhookId }, { ...webhookJobOptions(this.options.webhookRetryBaseMs), jobId: webhookJobId(eventId, webhookId) });
  }

  /** One webhook attempt series per subscription of an event, in one round trip. */
  async enqueueWebhooks(eventId: string, webhookIds: string[]): Promise<void> {
    if (webhookIds.length === 0) return;
    const opts = webhookJobOptions(this.options.webhookRetryBaseMs);
    await this.queues.get(QUEUES.webhook).addBulk(
      webhookIds.map((webhookId) => ({ name: QUEUES.webhook, data: { eventId, webhookId }, opts: { ...opts, jobId: webhookJobId(eventId, webhookId) } })),
    );
  }

  /**
   * The fan-out of written events to their subscriptions, one job per event, run by the
   * webhook-dispatch worker rather than the sweep: a tenant's subscriptions never hold up
   * anyone's checks. Enqueueing an event twice while its job waits is a no-op.
   */
  async enqueueWebhookDispatches(eventIds: string[]): Promise<void> {
    if (eventIds.length === 0) return;
    await this.queues.get(QUEUES.webhookDispatch).addBulk(
      eventIds.map((eventId) => ({ name: QUEUES.webhookDispatch, data: { eventId }, opts: { ...DISPATCH_JOB_OPTIONS, jobId: webhookDispatchJobId(eventId) } })),
    );
  }

  /** The sweep's safety net: one scan for events whose fan-out job was lost; a no-op while one is queued or running. */
  async enqueueWebhookDispatchScan(): Promise<void> {
    await this.queues.get(QUEUES.webhookDispatch).add(QUEUES.webhookDispatch, {}, { ...DISPATCH_JOB_OPTIONS, jobId: webhookDispatchJobId() });
  }

  /** The sweeper's job scheduler: one per queue prefix, however many workers upsert it. */
  async scheduleSweep(everyMs: number): Promise<void> {
    await this.queues.get(QUEUES.sweep).upsertJobScheduler('sweeper', { every: everyMs }, { name: QUEUES.sweep, data: {} });
  }
}
