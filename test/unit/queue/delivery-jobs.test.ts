import type { MinimalJob } from 'bullmq';
import {
  deliveryAttempts,
  deliveryBackoffStrategy,
  deliveryJob,
  deliveryJobOptions,
  deliveryRetryDelay,
} from '../../../src/queue/delivery-jobs';

const MIN = 60_000;

describe('delivery retry schedule', () => {
  it('waits 1m 2m 4m 8m 16m 32m 1h 2h 4h, then 4h', () => {
    const delays = Array.from({ length: 12 }, (_, i) => deliveryRetryDelay(i + 1, MIN) / MIN);
    expect(delays).toEqual([1, 2, 4, 8, 16, 32, 60, 120, 240, 240, 240, 240]);
  });

  /** When attempt number `n` (1-based) is made, counted from the first, if none runs late. */
  const attemptAt = (n: number, base: number) => {
    let at = 0;
    for (let retry = 1; retry < n; retry++) at += deliveryRetryDelay(retry, base);
    return at;
  };

  it.each([
    ['5 days, the production default', 5 * 24 * 3600_000, MIN, 39],
    ['24 hours', 24 * 3600_000, MIN, 15],
    ['one hour', 3600_000, MIN, 8],
    ['2 s with a 100 ms base (the tests)', 2000, 100, 7],
  ])('retries until DELIVERY_MAX_AGE_MS is reached (%s), and once more', (_label, maxAgeMs, base, expected) => {
    const attempts = deliveryAttempts(maxAgeMs, base);
    expect(attempts).toBe(expected);
    // The second-to-last attempt is the first made at or past the age; the one before it is younger.
    expect(attemptAt(attempts - 1, base)).toBeGreaterThanOrEqual(maxAgeMs);
    expect(attemptAt(attempts - 2, base)).toBeLessThan(maxAgeMs);
  });

  it('never schedules more than 1000 attempts', () => {
    expect(deliveryAttempts(365 * 24 * 3600_000, 1)).toBe(1000);
  });

  it('scales with the base delay carried in the job, falling back to the worker setting', () => {
    const strategy = deliveryBackoffStrategy(MIN);
    const job = (backoff: unknown) => ({ opts: { backoff } }) as unknown as MinimalJob;
    expect(strategy(3, 'custom', undefined, job({ type: 'custom', delay: 200 }))).toBe(800);
    expect(strategy(3, 'custom', undefined, job({ type: 'custom' }))).toBe(4 * MIN);
    expect(strategy(1, 'custom')).toBe(MIN);
  });

  it('gives producers one set of options with the deduplicating jobId', () => {
    const config = { delivery: { retryBaseMs: 200, maxAgeMs: 1000 } };
    expect(deliveryJobOptions(config)).toEqual({ attempts: 5, backoff: { type: 'custom', delay: 200 } });
    expect(deliveryJob(config, 'abc')).toEqual([
      'delivery',
      { queueId: 'abc' },
      { jobId: 'deliver-abc', attempts: 5, backoff: { type: 'custom', delay: 200 } },
    ]);
  });
});
