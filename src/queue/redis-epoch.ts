import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';

/**
 * A marker key that tells whether Redis lost its data: set when it is missing, so that a
 * Redis restarted empty (no persistence, a failover to a blank replica) is noticed within
 * one poll. `changed()` is true once per loss (and on the very first start on a fresh Redis).
 */
export class RedisEpoch {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get key(): string {
    return `${this.prefix}:epoch`;
  }

  /** True when the marker was missing (and is set now); false while it stands. Throws while Redis is away. */
  async changed(): Promise<boolean> {
    const set = await this.redis.set(this.key, randomUUID(), 'NX');
    return set === 'OK';
  }

  /** Forgets the marker, so the next poll reports a loss again (the rebuild it triggered failed). */
  async reset(): Promise<void> {
    await this.redis.del(this.key);
  }
}
