import type { RedisLock } from '../queue/redis-lock';

/**
 * Every write to a domain document takes the domain's lock: on FerretDB v1 an update
 * rewrites the whole document after filtering in Go, so a version-guarded check result
 * racing an approval or allowlist write could silently undo it (DESIGN §8). The check
 * holds the lock through its DNS queries, so a writer may wait that long.
 */
export const domainLockKey = (domainId: string) => `domain:${domainId}`;

const WRITE_LOCK = { ttlMs: 15_000, waitMs: 20_000 };

/** Runs one owner or admin write of a domain under its lock. */
export function withDomainLock<T>(lock: RedisLock, domainId: string, fn: () => Promise<T>): Promise<T> {
  return lock.withLock(domainLockKey(domainId), WRITE_LOCK, fn);
}
