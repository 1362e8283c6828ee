import type { BackoffStrategy, JobsOptions } from 'bullmq';
import type { Config } from '../config';
import { deliveryJobId, QUEUES, type DeliveryPayload, type DeliverySnapshot } from './queues';

/**
 * Retry delays in units of DELIVERY_RETRY_BASE_MS (1 minute in production):
 * 1m 2m 4m 8m 16m 32m 1h 2h 4h, then every 4h.
 */
const RETRY_STEPS = [1, 2, 4, 8, 16, 32, 60, 120, 240];

/** No schedule has more attempts than this, whatever DELIVERY_MAX_AGE_MS and the base delay say. */
const MAX_DELIVERY_ATTEMPTS = 1000;

/** The delay before retry number `retry` (1-based), given the base delay. */
export function deliveryRetryDelay(retry: number, baseMs: number): number {
  const step = RETRY_STEPS[Math.min(Math.max(retry, 1), RETRY_STEPS.length) - 1];
  return step * baseMs;
}

/**
 * Attempts per message, so that the schedule reaches DELIVERY_MAX_AGE_MS: the first attempt,
 * every retry up to the first one made when the message is at least that old, and one more
 * for an attempt that ran late. The attempt that finds the message too old bounces its
 * deferred recipients as `expired` (delivery.service.ts), so the age decides, not the count.
 * With the production base of 1 minute and 5 days: 8h03 for the first nine retries, then
 * every 4 hours, 39 attempts.
 */
export function deliveryAttempts(maxAgeMs: number, baseMs: number): number {
  let attempts = 1;
  let waited = 0;
  while (waited < maxAgeMs && attempts < MAX_DELIVERY_ATTEMPTS) {
    waited += deliveryRetryDelay(attempts, baseMs);
    attempts++;
  }
  return Math.min(attempts + 1, MAX_DELIVERY_ATTEMPTS);
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

/** What a delivery job's retry schedule is made of: DELIVERY_RETRY_BASE_MS and DELIVERY_MAX_AGE_MS. */
export type DeliverySchedule = Pick<Config['delivery'], 'retryBaseMs' | 'maxAgeMs'>;

/** Options for a delivery job: attempts and the custom backoff, kept in one place (producers.ts uses them). */
export function deliveryJobOptions(config: { delivery: DeliverySchedule }): Pick<JobsOptions, 'attempts' | 'backoff'> {
  const { retryBaseMs, maxAgeMs } = config.delivery;
  return { attempts: deliveryAttempts(maxAgeMs, retryBaseMs), backoff: { type: 'custom', delay: retryBaseMs } };
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
export function deliveryJob(config: { delivery: DeliverySchedule }, queueId: string): [string, DeliveryPayload, JobsOptions] {
  return [QUEUES.delivery, { queueId }, { jobId: deliveryJobId(queueId), ...deliveryJobOptions(config) }];
}
