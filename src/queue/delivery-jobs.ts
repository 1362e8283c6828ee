import type { BackoffStrategy, JobsOptions } from 'bullmq';
import type { Config } from '../config';
import { deliveryJobId, QUEUES, type DeliveryPayload, type DeliverySnapshot } from './queues';

/**
 * Retry delays in units of DELIVERY_RETRY_BASE_MS (1 minute in production):
 * 1m 2m 4m 8m 16m 32m 1h 2h 4h, then every 4h.
 */
const RETRY_STEPS = [1, 2, 4, 8, 16, 32, 60, 120, 240];

/**
 * Attempts per message: the first and 13 retries, which together span about 24 hours
 * (8h03 for the first nine delays, then four of 4h).
 */
export const DELIVERY_ATTEMPTS = 14;

/** The delay before retry number `retry` (1-based), given the base delay. */
export function deliveryRetryDelay(retry: number, baseMs: number): number {
  const step = RETRY_STEPS[Math.min(Math.max(retry, 1), RETRY_STEPS.length) - 1];
  return step * baseMs;
}

/** The longest single wait between two attempts: a deferred message quieter than this is lost. */
export function maxDeliveryRetryDelay(baseMs: number): number {
  return RETRY_STEPS[RETRY_STEPS.length - 1] * baseMs;
}

/**
 * The worker's `settings.backoffStrategy`. The base delay travels in each job's
 * `backoff.delay`, so that the producer's configuration decides the schedule.
 */
export function deliveryBackoffStrategy(fallbackBaseMs: number): BackoffStrategy {
  return (attemptsMade, _type, _err, job) => {
    const backoff = job?.opts.backoff;
    const baseMs = typeof backoff === 'object' && backoff.delay !== undefined ? backoff.delay : fallbackBaseMs;
    return deliveryRetryDelay(attemptsMade, baseMs);
  };
}

/** Options for a delivery job: attempts and the custom backoff, kept in one place (producers.ts uses them). */
export function deliveryJobOptions(config: { delivery: Pick<Config['delivery'], 'retryBaseMs'> }): Pick<JobsOptions, 'attempts' | 'backoff'> {
  return { attempts: DELIVERY_ATTEMPTS, backoff: { type: 'custom', delay: config.delivery.retryBaseMs } };
}

/** The largest message whose bytes travel in its delivery job (base64, so about 87 KiB of job data). */
export const SNAPSHOT_MAX_RAW_BYTES = 64 * 1024;

/** A spooled message as the relay wrote it: what its snapshot is taken from. */
export interface SpooledMessage {
  accountId: string;
  domainId: string;
  domain: string;
  username: string;
  envelope: { from: string; to: string[] };
  raw: Buffer;
  createdAt: Date;
}

/** The snapshot kept beside the delivery job of a message up to SNAPSHOT_MAX_RAW_BYTES; none for a larger one. */
export function deliverySnapshotOf(m: SpooledMessage): DeliverySnapshot | undefined {
  if (m.raw.length > SNAPSHOT_MAX_RAW_BYTES) return undefined;
  const { accountId, domainId, domain, username, envelope } = m;
  return { accountId, domainId, domain, username, envelope: { from: envelope.from, to: [...envelope.to] }, createdAt: m.createdAt.toISOString(), raw: m.raw.toString('base64') };
}

/** The whole delivery job for a spooled message: name, payload and options with its deduplicating jobId. */
export function deliveryJob(config: { delivery: Pick<Config['delivery'], 'retryBaseMs'> }, queueId: string): [string, DeliveryPayload, JobsOptions] {
  return [QUEUES.delivery, { queueId }, { jobId: deliveryJobId(queueId), ...deliveryJobOptions(config) }];
}
