import type { Redis } from 'ioredis';
import { QuotaExceededError, UnavailableError } from '../errors';
import { withDeadline } from '../deadline';

/** How one kind of object is counted, created and taken back for an account. */
export interface QuotaSubject<T> {
  /** The objects of this kind the account holds now (MongoDB, the source of truth). */
  count(): Promise<number>;
  /** Creates one; runs only after a slot was reserved. */
  create(): Promise<T>;
  /** Removes the one just created, when the recount finds the cap passed. */
  undo(created: T): Promise<void>;
}

export interface AccountQuotaOptions {
  /** How long a counter seeded from MongoDB lives before it is counted again (heals drift). */
  seedTtlMs: number;
  /**
   * Creations that take one of the last `recountMargin` slots count MongoDB again after
   * their insert. The counter undercounts by at most the creations in flight when it was
   * seeded, which the per-key API burst bounds well below this; counting on every creation
   * would cost a count per insert on stores without a covering index count (FerretDB).
   */
  recountMargin: number;
  /** How long one Redis call may take before the creation answers 503. */
  deadlineMs: number;
}

// Takes a slot when the counter exists and is under the cap: the slot taken (1..max),
// 0 when full, -1 when not seeded.
const RESERVE = `
local n = redis.call('GET', KEYS[1])
if not n then return -1 end
if tonumber(n) >= tonumber(ARGV[1]) then return 0 end
return redis.call('INCR', KEYS[1])
`;
// Gives a slot back, unless the counter is gone (a fresh seed already counts the truth).
const GIVE_BACK = `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return -1
`;

type Commands = {
  mwQuotaReserve(key: string, max: number): Promise<number>;
  mwQuotaGiveBack(key: string): Promise<number>;
};

/**
 * Caps the objects of one kind an account holds (domains, webhooks). MongoDB's count then
 * insert is two steps, so admission goes through a per-account counter in Redis instead:
 * seeded from MongoDB's count when missing (first use, after `seedTtlMs`, after Redis lost
 * it), and spent by one Lua script, so concurrent creations on any number of replicas
 * take distinct slots and never pass the cap. A failed insert gives its slot back; a
 * delete drops the counter so the next creation counts again.
 *
 * The second guard: a creation that took one of the last slots counts MongoDB again after
 * its insert and is undone past the cap. So an account never keeps more than `max`, even
 * when the counter undercounts (a seed raced creations in flight, or Redis lost it) by up
 * to `recountMargin`; then a creation that would have fitted can be refused until the next
 * seed. A process that dies between its reservation and its insert leaves one slot taken
 * until the counter is seeded again (at most `seedTtlMs` later).
 */
export class AccountQuota {
  private readonly options: AccountQuotaOptions;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    options: Partial<AccountQuotaOptions> = {},
  ) {
    this.options = { seedTtlMs: 10 * 60_000, recountMargin: 100, deadlineMs: 2000, ...options };
    if (!('mwQuotaReserve' in redis)) redis.defineCommand('mwQuotaReserve', { numberOfKeys: 1, lua: RESERVE });
    if (!('mwQuotaGiveBack' in redis)) redis.defineCommand('mwQuotaGiveBack', { numberOfKeys: 1, lua: GIVE_BACK });
  }

  private get commands(): Commands {
    return this.redis as unknown as Commands;
  }

  private key(kind: string, accountId: string): string {
    return `${this.prefix}:quota:${kind}:${accountId}`;
  }

  /**
   * A cheap early refusal (one GET), for callers with costly work before `admit` (key
   * generation): QuotaExceededError when the counter already says full.
   */
  async precheck(kind: string, accountId: string, max: number): Promise<void> {
    const n = await this.redisCall(kind, () => this.redis.get(this.key(kind, accountId)));
    if (n !== null && Number(n) >= max) throw quotaExceeded(kind, max);
  }

  /**
   * Creates one object of `kind` for the account unless it already holds `max`
   * (QuotaExceededError, 409). UnavailableError (503) when Redis is away.
   */
  async admit<T>(kind: string, accountId: string, max: number, subject: QuotaSubject<T>): Promise<T> {
    const key = this.key(kind, accountId);
    const slot = await this.reserve(kind, key, max, subject);
    let created: T;
    try {
      created = await subject.create();
    } catch (err) {
      await this.redisCall(kind, () => this.commands.mwQuotaGiveBack(key)).catch(() => {});
      throw err;
    }
    if (slot > max - this.options.recountMargin && (await subject.count()) > max) {
      await subject.undo(created);
      // The counter let one too many through: count again from MongoDB next time.
      await this.redisCall(kind, () => this.redis.del(key)).catch(() => {});
      throw quotaExceeded(kind, max);
    }
    return created;
  }

  /** After a delete: the next creation seeds the counter from MongoDB again. */
  async forget(kind: string, accountId: string): Promise<void> {
    await this.redisCall(kind, () => this.redis.del(this.key(kind, accountId)));
  }

  /** The slot taken (1..max). */
  private async reserve(kind: string, key: string, max: number, subject: QuotaSubject<unknown>): Promise<number> {
    // A few tries: a delete may drop the counter between the seed and the reservation.
    for (let attempt = 0; attempt < 3; attempt++) {
      const taken = await this.redisCall(kind, () => this.commands.mwQuotaReserve(key, max));
      if (taken > 0) return taken;
      if (taken === 0) throw quotaExceeded(kind, max);
      const n = await subject.count();
      await this.redisCall(kind, () => this.redis.set(key, String(n), 'PX', this.options.seedTtlMs, 'NX'));
    }
    throw new UnavailableError(`the ${kind} quota could not be checked; try again`);
  }

  private async redisCall<R>(kind: string, fn: () => Promise<R>): Promise<R> {
    // A Redis that takes the command and never answers must not hold the request; a late
    // reservation is a slot taken until the next seed, like a process that died.
    try {
      return await withDeadline(fn(), this.options.deadlineMs, `redis (${kind} quota)`);
    } catch {
      throw new UnavailableError(`the ${kind} quota cannot be checked right now; try again`);
    }
  }
}

/** The 409 an account at its cap of `kind` gets. */
export function quotaExceeded(kind: string, max: number): QuotaExceededError {
  return new QuotaExceededError(`the account already has ${max} ${kind}, the most it may have; delete one first`);
}
