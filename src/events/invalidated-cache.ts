import type { Clock } from '../clock';
import { UnavailableError } from '../errors';

export interface InvalidatedCacheOptions {
  /** How long an entry is kept without any invalidation (a safety net; changes arrive over pub/sub at once). */
  ttlMs: number;
  /**
   * While the invalidation channel is down the cache cannot be trusted. Fail closed
   * (the relay): refuse with UnavailableError. Fail open (the worker): read through to
   * the store and cache nothing.
   */
  failClosed: boolean;
  /** Names the channel in the UnavailableError. */
  channel: string;
}

/**
 * An in-process cache kept true by ChangeNotifier's pub/sub invalidations: an entry lives
 * `ttlMs` or until its key is invalidated, and a load that raced an invalidation is not
 * cached (a per-key generation guard), so a removed fact cannot come back.
 */
export class InvalidatedCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  /** Bumped by every invalidation, so a load that raced one is not cached. */
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly load: (key: string) => Promise<V>,
    private readonly channelLive: () => boolean,
    private readonly clock: Clock,
    private readonly options: InvalidatedCacheOptions,
  ) {}

  async get(key: string): Promise<V> {
    if (!this.channelLive()) {
      if (this.options.failClosed) throw new UnavailableError(`${this.options.channel} invalidation channel is down`);
      return this.load(key);
    }
    const now = this.clock.now().getTime();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) return hit.value;
    const generation = this.generations.get(key) ?? 0;
    const value = await this.load(key);
    if (this.channelLive() && (this.generations.get(key) ?? 0) === generation) {
      this.entries.set(key, { value, expiresAt: now + this.options.ttlMs });
    }
    return value;
  }

  invalidate(key: string): void {
    this.entries.delete(key);
    this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
  }

  /** Drops everything (after the channel was down: messages may have been missed). */
  clear(): void {
    for (const key of [...this.entries.keys()]) this.invalidate(key);
  }
}
