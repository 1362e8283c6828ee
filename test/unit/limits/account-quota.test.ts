import { AccountQuota, type QuotaLock } from '../../../src/limits/account-quota';
import { QuotaExceededError, RateLimitedError, UnavailableError } from '../../../src/errors';

const tick = () => new Promise((r) => setImmediate(r));

/** An account's objects, with a count and an insert that yield between read and write. */
function store(initial: number) {
  const items: number[] = Array.from({ length: initial }, (_, i) => i);
  let next = initial;
  return {
    items,
    subject: {
      count: async () => {
        await tick();
        return items.length;
      },
      create: async () => {
        await tick();
        const id = next++;
        items.push(id);
        return id;
      },
      undo: async (id: number) => {
        items.splice(items.indexOf(id), 1);
      },
    },
  };
}

/** A lock that excludes, like RedisLock. */
function realLock(): QuotaLock {
  const held = new Set<string>();
  return {
    acquire: async (key) => (held.has(key) ? null : (held.add(key), 'token')),
    release: async (key) => void held.delete(key),
  };
}

/** A lock that was lost: everyone gets it (TTL lapsed, Redis failed over). */
const lostLock: QuotaLock = { acquire: async () => `t${Math.random()}`, release: async () => {} };

async function race(quota: AccountQuota, subject: ReturnType<typeof store>['subject'], n: number, max: number) {
  return Promise.allSettled(Array.from({ length: n }, () => quota.admit('domains', 'acc_1', max, subject)));
}

describe('AccountQuota', () => {
  it('admits exactly up to the cap when creations race under the lock', async () => {
    const s = store(7);
    const results = await race(new AccountQuota(realLock(), { pollMs: 1 }), s.subject, 6, 10);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    for (const r of results.filter((x) => x.status === 'rejected')) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(QuotaExceededError);
    expect(s.items).toHaveLength(10);
  });

  it('never keeps more than the cap when the lock is lost: the recount undoes the extra ones', async () => {
    const s = store(9);
    const results = await race(new AccountQuota(lostLock), s.subject, 6, 10);
    expect(s.items.length).toBeLessThanOrEqual(10);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(s.items.length - 9);
  });

  it('answers 429 when other creations of the account keep the lock past the wait', async () => {
    const busy: QuotaLock = { acquire: async () => null, release: async () => {} };
    const err = await new AccountQuota(busy, { waitMs: 30, pollMs: 5 }).admit('webhooks', 'acc_1', 25, store(0).subject).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterSeconds).toBe(1);
  });

  it('answers 503 when the lock store is unreachable', async () => {
    const down: QuotaLock = { acquire: () => Promise.reject(new Error('connect ECONNREFUSED')), release: async () => {} };
    await expect(new AccountQuota(down).admit('webhooks', 'acc_1', 25, store(0).subject)).rejects.toBeInstanceOf(UnavailableError);
  });
});
