import { ManualClock } from '../../../src/clock';
import { UnavailableError } from '../../../src/errors';
import { DeadlineExceededError } from '../../../src/deadline';
import { SuppressionCache } from '../../../src/relay/suppression-cache';
import type { SuppressionLookup } from '../../../src/suppressions/suppression.service';

const ACCT = 'acc_1';

/** A suppression list in memory, counting the loads the cache makes. */
function fakeStore() {
  const entries = new Map<string, SuppressionLookup>();
  const loads: string[] = [];
  return {
    entries,
    loads,
    load: async (accountId: string, address: string) => {
      loads.push(`${accountId} ${address}`);
      return entries.get(`${accountId} ${address}`) ?? null;
    },
  };
}

describe('SuppressionCache', () => {
  const clock = new ManualClock(new Date('2030-01-01T00:00:00Z'));
  let live: boolean;
  beforeEach(() => {
    live = true;
  });
  const cacheOver = (load: (a: string, b: string) => Promise<SuppressionLookup | null>, options = { ttlMs: 60_000, maxEntries: 1000, loadDeadlineMs: 5000 }) =>
    new SuppressionCache(load, () => live, clock, options);

  it('loads an address once and answers again from memory, found or not', async () => {
    const store = fakeStore();
    store.entries.set(`${ACCT} bad@example.com`, { expiresAt: null });
    const cache = cacheOver(store.load);
    expect(await cache.isSuppressed(ACCT, 'bad@example.com')).toBe(true);
    expect(await cache.isSuppressed(ACCT, 'bad@EXAMPLE.com')).toBe(true);
    expect(await cache.isSuppressed(ACCT, 'good@example.com')).toBe(false);
    expect(await cache.isSuppressed(ACCT, 'good@example.com')).toBe(false);
    expect(store.loads).toEqual([`${ACCT} bad@example.com`, `${ACCT} good@example.com`]);
  });

  it('compares the local part exactly, and keeps accounts apart', async () => {
    const store = fakeStore();
    store.entries.set(`${ACCT} bad@example.com`, { expiresAt: null });
    const cache = cacheOver(store.load);
    expect(await cache.isSuppressed(ACCT, 'Bad@example.com')).toBe(false);
    expect(await cache.isSuppressed('acc_2', 'bad@example.com')).toBe(false);
    expect(await cache.isSuppressed(ACCT, 'bad@example.com')).toBe(true);
  });

  it('loads again after an invalidation of that address', async () => {
    const store = fakeStore();
    const cache = cacheOver(store.load);
    expect(await cache.isSuppressed(ACCT, 'x@example.com')).toBe(false);
    store.entries.set(`${ACCT} x@example.com`, { expiresAt: null });
    expect(await cache.isSuppressed(ACCT, 'x@example.com')).toBe(false);
    cache.invalidate(ACCT, 'x@example.com');
    expect(await cache.isSuppressed(ACCT, 'x@example.com')).toBe(true);
    expect(store.loads).toHaveLength(2);
  });

  it('does not keep a load that an invalidation overtook, and sends later lookups to a fresh load', async () => {
    const store = fakeStore();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let first = true;
    const cache = cacheOver(async (a, b) => {
      if (first) {
        first = false;
        const stale = await store.load(a, b);
        await gate;
        return stale;
      }
      return store.load(a, b);
    });
    const racing = cache.isSuppressed(ACCT, 'x@example.com');
    store.entries.set(`${ACCT} x@example.com`, { expiresAt: null });
    cache.invalidate(ACCT, 'x@example.com');
    // Asked after the change: must not share the load that read before it.
    expect(await cache.isSuppressed(ACCT, 'x@example.com')).toBe(true);
    release();
    expect(await racing).toBe(false);
    expect(await cache.isSuppressed(ACCT, 'x@example.com')).toBe(true);
  });

  it('shares one load between lookups of the same address at the same time', async () => {
    const store = fakeStore();
    const cache = cacheOver(store.load);
    await Promise.all(Array.from({ length: 10 }, () => cache.isSuppressed(ACCT, 'same@example.com')));
    expect(store.loads).toHaveLength(1);
  });

  it('stops suppressing once the entry expires, without loading it again', async () => {
    const store = fakeStore();
    store.entries.set(`${ACCT} t@example.com`, { expiresAt: new Date(clock.now().getTime() + 1000) });
    const cache = cacheOver(store.load, { ttlMs: 3600_000, maxEntries: 1000, loadDeadlineMs: 5000 });
    expect(await cache.isSuppressed(ACCT, 't@example.com')).toBe(true);
    clock.advance(1000);
    expect(await cache.isSuppressed(ACCT, 't@example.com')).toBe(false);
    expect(store.loads).toHaveLength(1);
  });

  it('loads again after ttlMs, and keeps at most maxEntries answers', async () => {
    const store = fakeStore();
    const cache = cacheOver(store.load, { ttlMs: 1000, maxEntries: 2, loadDeadlineMs: 5000 });
    await cache.isSuppressed(ACCT, 'a@example.com');
    clock.advance(1000);
    await cache.isSuppressed(ACCT, 'a@example.com');
    expect(store.loads).toHaveLength(2);
    await cache.isSuppressed(ACCT, 'b@example.com');
    await cache.isSuppressed(ACCT, 'c@example.com');
    expect(cache.size).toBe(2);
    // a was the least recently used: it went first.
    await cache.isSuppressed(ACCT, 'c@example.com');
    await cache.isSuppressed(ACCT, 'b@example.com');
    expect(store.loads).toHaveLength(4);
    await cache.isSuppressed(ACCT, 'a@example.com');
    expect(store.loads).toHaveLength(5);
  });

  it('fails closed: UnavailableError while the channel is down, the store error when a miss cannot load', async () => {
    const store = fakeStore();
    const cache = cacheOver(store.load);
    await cache.isSuppressed(ACCT, 'cached@example.com');
    live = false;
    await expect(cache.isSuppressed(ACCT, 'cached@example.com')).rejects.toBeInstanceOf(UnavailableError);
    live = true;
    const broken = cacheOver(async () => {
      throw new Error('connection refused');
    });
    await expect(broken.isSuppressed(ACCT, 'x@example.com')).rejects.toThrow('connection refused');
  });

  it('gives a miss up after loadDeadlineMs when the store does not answer', async () => {
    const cache = cacheOver(() => new Promise<never>(() => {}), { ttlMs: 60_000, maxEntries: 10, loadDeadlineMs: 20 });
    await expect(cache.isSuppressed(ACCT, 'x@example.com')).rejects.toBeInstanceOf(DeadlineExceededError);
  });

  it('forgets everything on clear(), and never loads an address that cannot be on a list', async () => {
    const store = fakeStore();
    const cache = cacheOver(store.load);
    await cache.isSuppressed(ACCT, 'a@example.com');
    cache.clear();
    expect(cache.size).toBe(0);
    expect(await cache.isSuppressed(ACCT, 'not an address')).toBe(false);
    expect(store.loads).toHaveLength(1);
  });
});
