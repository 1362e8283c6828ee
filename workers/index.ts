import { Worker } from 'bullmq';
import type { Config } from '../src/config';
import type { LifecycleService } from '../src/domains/lifecycle.service';
import type { DkimRotationService } from '../src/domains/dkim-rotation.service';
import type { Logger } from '../src/logger';
import type { DeliveryService } from '../src/messages/delivery.service';
import type { MessageRecovery } from '../src/messages/message-recovery';
import type { QueueRebuild } from '../src/messages/queue-rebuild';
import { RedisEpoch } from '../src/queue/redis-epoch';
import { deliveryBackoffStrategy } from '../src/queue/delivery-jobs';
import type { JobProducer } from '../src/queue/producers';
import { createQueueConnection, QUEUES } from '../src/queue/queues';
import { webhookBackoffStrategy } from '../src/queue/webhook-jobs';
import type { WebhookDeliveryService } from '../src/webhooks/webhook-delivery.service';
import type { WebhookService } from '../src/webhooks/webhook.service';
import { deliveryProcessor } from './delivery.processor';
import { dnsCheckProcessor } from './dns-check.processor';
import { sweepProcessor } from './sweep.processor';
import { webhookDispatchProcessor } from './webhook-dispatch.processor';
import { webhookProcessor } from './webhook.processor';

// BullMQ's defaults (30 s), made explicit: the crash-recovery bound depends on them.
const DELIVERY_JOB_LOCK_MS = 30_000;
const DELIVERY_STALLED_INTERVAL_MS = 15_000;
const DELIVERY_MAX_STALLS = 10;
// How often a worker checks that Redis still has its data, and how long a `sending` message
// is left to a live attempt (whose lock vanished with the data) before its job is re-added.
const EPOCH_POLL_MS = 2000;
const SENDING_GRACE_MS = 30_000;

/** What the worker role runs on; the composition root passes its services in. */
export interface WorkerDeps {
  config: Config;
  logger: Logger;
  lifecycle: LifecycleService;
  producer: JobProducer;
  delivery: DeliveryService;
  messageRecovery: MessageRecovery;
  webhooks: WebhookService;
  webhookDeliveries: WebhookDeliveryService;
  /** Starts the automatic DKIM rotations on each sweep. */
  dkimRotation?: DkimRotationService;
  /** Rebuilds the delivery queue from MongoDB when Redis lost its data; none: the stuck-message sweep does, in 10 minutes. */
  queueRebuild?: QueueRebuild;
}

export interface WorkerOptions {
  /** dns-check jobs run at once (20). */
  dnsConcurrency?: number;
}

export interface RunningWorkers {
  close(): Promise<void>;
  /** Stops every processor without waiting for its jobs or for Redis (the shutdown deadline passed). */
  forceClose(): void;
}

/** Starts the queue processors of the worker role and the sweeper's job scheduler. Use `container.start('worker')`. */
export async function startWorkers(deps: WorkerDeps, options: WorkerOptions = {}): Promise<RunningWorkers> {
  const { config, logger, lifecycle, producer, delivery, messageRecovery, webhooks, webhookDeliveries } = deps;
  const connection = createQueueConnection(config.redisUrl);
  connection.on('error', (err) => logger.warn({ err: err.message }, 'worker redis connection error'));
  const common = { connection, prefix: config.queuePrefix };
  const workers = [
    new Worker(QUEUES.sweep, sweepProcessor(lifecycle, messageRecovery, producer, Date.now, deps.dkimRotation ?? null), { ...common, concurrency: 1 }),
    new Worker(QUEUES.dnsCheck, dnsCheckProcessor(lifecycle), { ...common, concurrency: options.dnsConcurrency ?? 20 }),
    new Worker(QUEUES.delivery, deliveryProcessor(delivery), {
      ...common,
      // An attempt mostly waits (Redis, the database, the remote server): sized for I/O.
      concurrency: config.delivery.concurrency,
      // A worker that dies mid-delivery stops renewing its job locks; the stalled check
      // moves its jobs back to wait within lockDuration + stalledInterval (≤ 45 s), and the
      // message lock (10 s, delivery.service.ts) has lapsed by then.
      lockDuration: DELIVERY_JOB_LOCK_MS,
      stalledInterval: DELIVERY_STALLED_INTERVAL_MS,
      // BullMQ fails a job that stalls more than once by default; a message whose workers
      // crash twice must still be delivered, and only pending recipients are ever resent.
      maxStalledCount: DELIVERY_MAX_STALLS,
      settings: { backoffStrategy: deliveryBackoffStrategy(config.delivery.retryBaseMs) },
    }),
    new Worker(QUEUES.webhook, webhookProcessor(webhookDeliveries), {
      ...common,
      concurrency: 20,
      settings: { backoffStrategy: webhookBackoffStrategy(config.webhooks.retryBaseMs) },
    }),
    new Worker(QUEUES.webhookDispatch, webhookDispatchProcessor(webhooks), { ...common, concurrency: 5 }),
  ];
  for (const w of workers) {
    // A message's job names its queueId, a check's its domain id, like every other line about them.
    w.on('failed', (job, err) => logger.warn({ queue: w.name, jobId: job?.id, ...subjectOf(job?.data), err: err.message }, 'job failed'));
    w.on('error', (err) => logger.warn({ queue: w.name, err: err.message }, 'worker error'));
  }
  await producer.scheduleSweep(config.verification.sweepIntervalMs);
  const lossWatch = deps.queueRebuild ? watchRedisLoss(new RedisEpoch(connection, config.queuePrefix), deps.queueRebuild, producer, config, logger) : null;
  logger.info({ sweepIntervalMs: config.verification.sweepIntervalMs }, 'workers started: sweep, dns-check, delivery, webhook, webhook-dispatch');
  return {
    async close() {
      lossWatch?.stop();
      await Promise.all(workers.map((w) => w.close()));
      await connection.quit().catch(() => connection.disconnect());
    },
    forceClose() {
      lossWatch?.stop();
      for (const w of workers) void w.close(true).catch(() => {});
      connection.disconnect();
    },
  };
}

/** The message or domain a job is about, as its log fields. */
function subjectOf(data: unknown): { queueId?: string; domainId?: string } {
  if (!data || typeof data !== 'object') return {};
  const { queueId, domainId } = data as Record<string, unknown>;
  return { ...(typeof queueId === 'string' ? { queueId } : {}), ...(typeof domainId === 'string' ? { domainId } : {}) };
}

/**
 * Notices that Redis lost its data (its epoch marker is gone) and rebuilds what lived only
 * there: the sweeper's job scheduler and the delivery jobs of unfinished messages, the
 * `sending` ones after SENDING_GRACE_MS. Any worker may do it; every step is idempotent.
 */
function watchRedisLoss(epoch: RedisEpoch, rebuild: QueueRebuild, producer: JobProducer, config: Config, logger: Logger): { stop(): void } {
  const timers = new Set<NodeJS.Timeout>();
  let running = false;
  const poll = async () => {
    if (running || !(await epoch.changed())) return;
    running = true;
    try {
      await producer.scheduleSweep(config.verification.sweepIntervalMs);
      await rebuild.rebuild(['queued', 'deferred', 'held']);
      const later = setTimeout(() => {
        timers.delete(later);
        rebuild.rebuild(['sending'], new Date(Date.now() - SENDING_GRACE_MS)).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'rebuilding the jobs of sending messages failed'));
      }, SENDING_GRACE_MS);
      later.unref();
      timers.add(later);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'rebuilding the queue after a Redis data loss failed; trying again');
      await epoch.reset().catch(() => {});
    } finally {
      running = false;
    }
  };
  // Redis away: the poll fails and is tried again; nothing to do until it answers.
  const interval = setInterval(() => void poll().catch(() => {}), EPOCH_POLL_MS);
  interval.unref();
  return {
    stop() {
      clearInterval(interval);
      for (const t of timers) clearTimeout(t);
    },
  };
}
