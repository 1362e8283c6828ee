import type { MinimalJob } from 'bullmq';
import {
  DELIVERY_ATTEMPTS,
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

  it('spans about 24 hours over all attempts', () => {
    let total = 0;
    for (let retry = 1; retry < DELIVERY_ATTEMPTS; retry++) total += deliveryRetryDelay(retry, MIN);
    expect(total / 3600_000).toBeGreaterThan(23);
    expect(total / 3600_000).toBeLessThan(25);
  });

  it('scales with the base delay carried in the job, falling back to the worker setting', () => {
    const strategy = deliveryBackoffStrategy(MIN);
    const job = (backoff: unknown) => ({ opts: { backoff } }) as unknown as MinimalJob;
    expect(strategy(3, 'custom', undefined, job({ type: 'custom', delay: 200 }))).toBe(800);
    expect(strategy(3, 'custom', undefined, job({ type: 'custom' }))).toBe(4 * MIN);
    expect(strategy(1, 'custom')).toBe(MIN);
  });

  it('gives producers one set of options with the deduplicating jobId', () => {
    const config = { delivery: { retryBaseMs: 200 } } as Parameters<typeof deliveryJobOptions>[0];
    expect(deliveryJobOptions(config)).toEqual({ attempts: DELIVERY_ATTEMPTS, backoff: { type: 'custom', delay: 200 } });
    expect(deliveryJob(config, 'abc')).toEqual([
      'delivery',
      { queueId: 'abc' },
      { jobId: 'deliver-abc', attempts: DELIVERY_ATTEMPTS, backoff: { type: 'custom', delay: 200 } },
    ]);
  });
});
