import { deliveryJob, deliverySnapshotOf, type SpooledMessage } from './delivery-jobs';
import type { DeliverySnapshots } from './delivery-snapshots';
import { deliveryJobId, QUEUES, scheduledCheckJobId, verifyJobId, webhookDispatchJobId, webhookJobId, type QueueRegistry } from './queues';
import { webhookJobOptions } from './webhook-jobs';

/** How long finished webhook jobs keep their ids (dedup across racing dispatchers), and at most how many. */
const FINISHED_WEBHOOK_JOB_TTL_S = 3600;
const FINISHED_WEBHOOK_JOBS_KEPT = 100_000;
// How long expediteDeliveries waits for a running attempt to finish: 50 × 100 ms.
const EXPEDITE_ACTIVE_POLLS = 50;
const EXPEDITE_POLL_MS = 100;

export interface ProducerOptions {
  /** DELIVERY_RETRY_BASE_MS: the unit of the delivery backoff schedule. */
  deliveryRetryBaseMs: number;
  /** DELIVERY_MAX_AGE_MS: how long the delivery schedule keeps retrying. */
  deliveryMaxAgeMs: number;
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
    /** Where a spooled message's snapshot waits for its first attempt; none: every attempt reads it. */
    private readonly snapshots?: DeliverySnapshots,
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

  /**
   * The delivery job of a spooled message, its snapshot put first when it is small enough;
   * repeating it while the job exists is a no-op.
   */
  async enqueueDelivery(queueId: string, message?: SpooledMessage): Promise<void> {
    const snapshot = message && this.snapshots && deliverySnapshotOf(message);
    if (snapshot) await this.snapshots!.put(queueId, snapshot);
    await this.queues.get(QUEUES.delivery).add(...deliveryJob(this.schedule(), queueId));
  }

  private schedule() {
    return { delivery: { retryBaseMs: this.options.deliveryRetryBaseMs, maxAgeMs: this.options.deliveryMaxAgeMs } };
  }

  /**
   * Takes back a spooled message's snapshot when its enqueue failed and the message is being
   * removed: a job that lands late then finds neither a snapshot nor the message, and sends
   * nothing. Issued on the connection that put the snapshot, so it runs after a late put.
   */
  async withdrawDelivery(queueId: string): Promise<void> {
    await this.snapshots?.drop(queueId);
  }

  /** Delivery jobs for several messages at once (recovery re-adds lost ones; existing ones stay as they are). */
  async enqueueDeliveries(queueIds: string[]): Promise<void> {
    if (queueIds.length === 0) return;
    const config = this.schedule();
    await this.queues.get(QUEUES.delivery).addBulk(
      queueIds.map((id) => {
        const [name, data, opts] = deliveryJob(config, id);
        return { name, data, opts };
      }),
    );
  }

  /**
   * Runs the delivery jobs of these messages now instead of at their next backoff delay
   * (held messages whose domain may send again); a lost job is added again. A job that is
   * waiting already is left as it is.
   */
  async expediteDeliveries(queueIds: string[]): Promise<void> {
    const queue = this.queues.get(QUEUES.delivery);
    const lost: string[] = [];
    await Promise.all(
      queueIds.map(async (id) => {
        const job = await queue.getJob(deliveryJobId(id));
        if (!job) return void lost.push(id);
        // An attempt that is finishing (it read the old decision) is about to move its job
        // to the backoff delay: wait for that, briefly, so the promote is not lost.
        let state = await job.getState();
        for (let i = 0; state === 'active' && i < EXPEDITE_ACTIVE_POLLS; i++) {
          await new Promise((r) => setTimeout(r, EXPEDITE_POLL_MS));
          state = await job.getState();
        }
        // The job may move on between the check and the promote: then there is nothing to do.
        if (state === 'delayed') await job.promote().catch(() => {});
      }),
    );
    await this.enqueueDeliveries(lost);
  }

  /** Drops the delivery job of a cancelled message; one that is running (locked) stays, and finds the message finished. */
  async removeDelivery(queueId: string): Promise<void> {
    const job = await this.queues.get(QUEUES.delivery).getJob(deliveryJobId(queueId));
    await job?.remove().catch(() => {});
  }

  /** The delivery queue's jobs by BullMQ state. */
  async deliveryJobCounts(): Promise<Record<'waiting' | 'active' | 'delayed' | 'failed', number>> {
    const c = await this.queues.get(QUEUES.delivery).getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized', 'paused');
    return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.paused ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0 };
  }

  /**
   * One webhook attempt series per (event, subscription): a dispatcher run twice never
   * delivers twice. The finished job is kept for a while, because its id is the dedup:
   * removed at once, a second dispatcher that read the event before the first marked it
   * dispatched would add (and send) it again.
   */
  async enqueueWebhook(eventId: string, webhookId: string): Promise<void> {
    await this.queues.get(QUEUES.webhook).add(
      QUEUES.webhook,
      { eventId, webhookId },
      {
        ...webhookJobOptions(this.options.webhookRetryBaseMs),
        jobId: webhookJobId(eventId, webhookId),
        removeOnComplete: { age: FINISHED_WEBHOOK_JOB_TTL_S, count: FINISHED_WEBHOOK_JOBS_KEPT },
      },
    );
  }

  /** One webhook attempt series per subscription of an event, in one round trip (finished ids kept, as enqueueWebhook). */
  async enqueueWebhooks(eventId: string, webhookIds: string[]): Promise<void> {
    if (webhookIds.length === 0) return;
    const opts = {
      ...webhookJobOptions(this.options.webhookRetryBaseMs),
      removeOnComplete: { age: FINISHED_WEBHOOK_JOB_TTL_S, count: FINISHED_WEBHOOK_JOBS_KEPT },
    };
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
