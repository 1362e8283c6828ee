import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { UnavailableError } from '../errors';

// Compare-and-delete: only the holder's token releases the lock.
const LOCK_POLL_MS = 50;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
// Compare-and-expire: only the holder's token extends the lock.
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/** Per-key mutual exclusion with SET NX PX and a token (DESIGN §2 step 3). */
export class RedisLock {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** The lock's token, or null when someone else holds it. */
  async acquire(key: string, ttlMs: number): Promise<string | null> {
    const token = randomBytes(16).toString('hex');
    const ok = await this.redis.set(`${this.prefix}:lock:${key}`, token, 'PX', ttlMs, 'NX');
    return ok === 'OK' ? token : null;
  }

  /** Gives the holder's lock `ttlMs` more from now; false when it ran out or another holds it. */
  async extend(key: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(EXTEND, 1, `${this.prefix}:lock:${key}`, token, ttlMs)) === 1;
  }

  async release(key: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, `${this.prefix}:lock:${key}`, token);
  }

  /**
   * Runs `fn` while holding the lock, waiting up to `waitMs` for a holder to finish;
   * UnavailableError (503, retry) when it stays taken.
   */
  async withLock<T>(key: string, opts: { ttlMs: number; waitMs: number }, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + opts.waitMs;
    let token = await this.acquire(key, opts.ttlMs);
    while (!token) {
      if (Date.now() >= deadline) throw new UnavailableError(`${key} is busy; try again in a moment`);
      await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
      token = await this.acquire(key, opts.ttlMs);
    }
    try {
      return await fn();
    } finally {
      await this.release(key, token).catch(() => {});
    }
  }
}
