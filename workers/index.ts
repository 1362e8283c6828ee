import { Worker } from 'bullmq';
import type { Container } from '../src/container';
import { createQueueConnection, QUEUES } from '../src/queue/queues';
import { deliveryBackoffStrategy } from '../src/messages/delivery-jobs';
import { deliveryProcessor } from './delivery.processor';
import { dnsCheckProcessor } from './dns-check.processor';
import { sweepProcessor } from './sweep.processor';
import { webhookProcessor } from './webhook.processor';
import { webhookBackoffStrategy } from '../src/webhooks/webhook-events';

export interface RunningWorkers {
  close(): Promise<void>;
}

/** Starts the queue processors of the worker role and the sweeper's job scheduler. */
export async function startWorkers(container: Container, options: { dnsConcurrency?: number } = {}): Promise<RunningWorkers> {
  const { config, logger, lifecycle, queues, delivery, messageRecovery, webhooks, webhookDeliveries } = container;
  const connection = createQueueConnection(config.redisUrl);
  const common = { connection, prefix: config.queuePrefix };
  const workers = [
    new Worker(QUEUES.sweep, sweepProcessor(lifecycle, messageRecovery, webhooks), { ...common, concurrency: 1 }),
    new Worker(QUEUES.dnsCheck, dnsCheckProcessor(lifecycle), { ...common, concurrency: options.dnsConcurrency ?? 20 }),
    new Worker(QUEUES.delivery, deliveryProcessor(delivery), {
      ...common,
      concurrency: 10,
      settings: { backoffStrategy: deliveryBackoffStrategy(config.delivery.retryBaseMs) },
    }),
    new Worker(QUEUES.webhook, webhookProcessor(webhookDeliveries), {
      ...common,
      concurrency: 20,
      settings: { backoffStrategy: webhookBackoffStrategy(config.webhooks.retryBaseMs) },
    }),
  ];
  for (const w of workers) {
    w.on('failed', (job, err) => logger.warn({ queue: w.name, jobId: job?.id, err: err.message }, 'job failed'));
    w.on('error', (err) => logger.warn({ queue: w.name, err: err.message }, 'worker error'));
  }
  await queues
    .get(QUEUES.sweep)
    .upsertJobScheduler('sweeper', { every: config.verification.sweepIntervalMs }, { name: QUEUES.sweep, data: {} });
  logger.info({ sweepIntervalMs: config.verification.sweepIntervalMs }, 'workers started: sweep, dns-check, delivery, webhook');
  return {
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
