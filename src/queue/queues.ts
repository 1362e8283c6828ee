import { Queue, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';

/** Queue names (DESIGN §1). */
export const QUEUES = { sweep: 'sweep', dnsCheck: 'dns-check', delivery: 'delivery', webhook: 'webhook', webhookDispatch: 'webhook-dispatch' } as const;

export const sweepPayload = z.strictObject({});
export const dnsCheckPayload = z.strictObject({
  domainId: z.string().min(1),
  /** Why the check runs: the sweeper found it due, or the owner asked for it. */
  trigger: z.enum(['scheduled', 'verify']),
});
export type DnsCheckPayload = z.infer<typeof dnsCheckPayload>;

/**
 * An event id as part of a job id: BullMQ refuses ':' in custom ids, and a message event's
 * id carries a recipient address, which may hold one. Escaped one-to-one ('%' first).
 */
const idPart = (id: string) => id.replace(/%/g, '%25').replace(/:/g, '%3A');

export const webhookPayload = z.strictObject({ eventId: z.string().min(1), webhookId: z.string().min(1) });
/** One job per (event, subscription): a dispatcher run twice never delivers twice. */
export const webhookJobId = (eventId: string, webhookId: string) => `wh-${idPart(eventId)}-${webhookId}`;

/** Fan-out of one written event, or (no eventId) the sweep's scan for events never fanned out. */
export const webhookDispatchPayload = z.strictObject({ eventId: z.string().min(1).optional() });
/** One fan-out job per event, and one queued scan at a time. */
export const webhookDispatchJobId = (eventId?: string) => (eventId ? `dispatch-${idPart(eventId)}` : 'dispatch-pending');

/**
 * What the relay knew of a small message when it spooled it, so that the first delivery
 * attempt need not read it back (on FerretDB v1 a read by _id scans the collection); kept
 * beside the job by DeliverySnapshots. A retry or a stalled job reads the message instead:
 * only it knows what is still pending.
 */
export const deliverySnapshot = z.strictObject({
  accountId: z.string().min(1),
  domainId: z.string().min(1),
  domain: z.string().min(1),
  username: z.string(),
  envelope: z.strictObject({ from: z.string(), to: z.array(z.string()).min(1) }),
  createdAt: z.iso.datetime(),
  /** The message as received, base64. */
  raw: z.base64(),
});
export type DeliverySnapshot = z.infer<typeof deliverySnapshot>;

export const deliveryPayload = z.strictObject({ queueId: z.string().min(1) });
export type DeliveryPayload = z.infer<typeof deliveryPayload>;

/** One delivery job per message: a retried enqueue never doubles it. */
export const deliveryJobId = (queueId: string) => `deliver-${queueId}`;

/** DESIGN §2: one job per due check; BullMQ refuses ':' in custom ids. */
export const scheduledCheckJobId = (domainId: string, nextCheckAtMs: number) => `check-${domainId}-${nextCheckAtMs}`;
/** One queued "verify now" per domain at a time. */
export const verifyJobId = (domainId: string) => `verify-${domainId}`;

/** A connection for BullMQ: blocking reads need maxRetriesPerRequest null. */
export function createQueueConnection(redisUrl: string): Redis {
  return new Redis(redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

/** The producers' side of the queues, sharing one connection. */
export class QueueRegistry {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly connection: ConnectionOptions,
    /** Hash-tagged ({mw}) so every key of a queue lands in one Redis Cluster slot. */
    readonly prefix: string,
  ) {}

  get(name: (typeof QUEUES)[keyof typeof QUEUES]): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection: this.connection,
        prefix: this.prefix,
        defaultJobOptions: { removeOnComplete: true, removeOnFail: { age: 24 * 3600 }, attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
      });
      this.queues.set(name, q);
    }
    return q;
  }

  /**
   * Per queue: jobs waiting, delayed, active and failed, and the age of the oldest job in
   * `wait` (added, or released from its delay, longest ago), for the metrics scrape. Each
   * queue costs a few O(1) Redis reads, whatever its length.
   */
  async stats(now = Date.now()): Promise<Array<{ queue: string; counts: Record<string, number>; oldestWaitingAgeMs: number | null }>> {
    return Promise.all(
      Object.values(QUEUES).map(async (name) => {
        const q = this.get(name);
        const [counts, oldest] = await Promise.all([
          q.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'failed'),
          // The wait list is consumed from its tail: the oldest job sits there.
          q.getJobs(['wait'], 0, 0, true),
        ]);
        const job = oldest[0];
        const since = job ? job.timestamp + (job.delay ?? 0) : null;
        return { queue: name, counts, oldestWaitingAgeMs: since === null ? null : Math.max(0, now - since) };
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
