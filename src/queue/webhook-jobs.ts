import type { BackoffStrategy, JobsOptions } from 'bullmq';

/**
 * Retry delays in units of WEBHOOK_RETRY_BASE_MS (5 s in production):
 * 5 s, 5 m, 30 m, 2 h, 5 h, 10 h, 10 h — about a day in all.
 */
const RETRY_STEPS = [1, 60, 360, 1440, 3600, 7200, 7200];
export const WEBHOOK_ATTEMPTS = RETRY_STEPS.length + 1;

export function webhookJobOptions(baseMs: number): Pick<JobsOptions, 'attempts' | 'backoff'> {
  return { attempts: WEBHOOK_ATTEMPTS, backoff: { type: 'custom', delay: baseMs } };
}

/** The worker's backoffStrategy; the base travels in the job's backoff.delay. */
export function webhookBackoffStrategy(fallbackBaseMs: number): BackoffStrategy {
  return (attemptsMade, _type, _err, job) => {
    const b = job?.opts.backoff;
    const base = typeof b === 'object' && b.delay !== undefined ? b.delay : fallbackBaseMs;
    return RETRY_STEPS[Math.min(Math.max(attemptsMade, 1), RETRY_STEPS.length) - 1] * base;
  };
}
