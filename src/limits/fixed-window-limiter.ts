import type { Redis } from 'ioredis';

export interface LimitDecision {
  allowed: boolean;
  count: number;
  /** Until the window resets. */
  retryAfterMs: number;
}

/**
 * A fixed-window counter in Redis. The window's expiry is set in the same MULTI that
 * counts, so a process dying mid-call can never leave a counter that never expires.
 */
export class FixedWindowLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Counts one hit on `key`; allowed while the window holds at most `max` hits. */
  async hit(key: string, max: number, windowMs: number): Promise<LimitDecision> {
    const k = `${this.prefix}:rl:${key}`;
    const res = await this.redis.multi().set(k, '0', 'PX', windowMs, 'NX').incr(k).pttl(k).exec();
    if (!res || res.some(([err]) => err)) throw new Error(`rate limiter: redis MULTI failed for ${k}`);
    const count = Number(res[1][1]);
    const ttl = Number(res[2][1]);
    return { allowed: count <= max, count, retryAfterMs: ttl > 0 ? ttl : windowMs };
  }

  /** Hits counted on `key` in its current window (0 when none). */
  async count(key: string): Promise<number> {
    return Number((await this.redis.get(`${this.prefix}:rl:${key}`)) ?? 0);
  }
}
