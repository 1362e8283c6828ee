import { QuotaExceededError, RateLimitedError, UnavailableError } from '../errors';

/** A per-key mutual exclusion (RedisLock): SET NX PX with a token, compare-and-delete release. */
export interface QuotaLock {
  acquire(key: string, ttlMs: number): Promise<string | null>;
  release(key: string, token: string): Promise<void>;
}

/** How one kind of object is counted, created and taken back for an account. */
export interface QuotaSubject<T> {
  /** The objects of this kind the account holds now. */
  count(): Promise<number>;
  /** Creates one; runs only while the account is under its cap. */
  create(): Promise<T>;
  /** Removes the one just created, when the recount finds the cap passed. */
  undo(created: T): Promise<void>;
}

export interface AccountQuotaOptions {
  /** Longer than one count + insert takes. */
  lockTtlMs: number;
  /** How long a creation waits for another one of the same account before answering 429. */
  waitMs: number;
  pollMs: number;
}

const DEFAULTS: AccountQuotaOptions = { lockTtlMs: 10_000, waitMs: 5_000, pollMs: 20 };

/**
 * Caps the objects of one kind an account holds. Counting and inserting are two steps (a
 * MongoDB count, then an insert), so creations of one account and kind are serialised by a
 * Redis lock, and the count is taken again after the insert: if the lock was lost meanwhile
 * (it outlived its TTL, or Redis failed over) and the cap is passed, the creation is undone.
 * The guarantee: an account never keeps more than `max`; in that rare lost-lock case a
 * creation that would have fitted can be refused.
 */
export class AccountQuota {
  private readonly options: AccountQuotaOptions;

  constructor(
    private readonly lock: QuotaLock,
    options: Partial<AccountQuotaOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /**
   * Creates one object of `kind` for the account, unless it already holds `max`
   * (QuotaExceededError, 409). RateLimitedError (429) when other creations of the same
   * account keep the lock longer than the wait; UnavailableError (503) when Redis is away.
   */
  async admit<T>(kind: string, accountId: string, max: number, subject: QuotaSubject<T>): Promise<T> {
    const key = `quota:${kind}:${accountId}`;
    const token = await this.acquire(key, kind);
    try {
      if ((await subject.count()) >= max) throw quotaExceeded(kind, max);
      const created = await subject.create();
      if ((await subject.count()) > max) {
        await subject.undo(created);
        throw quotaExceeded(kind, max);
      }
      return created;
    } finally {
      await this.lock.release(key, token).catch(() => {});
    }
  }

  private async acquire(key: string, kind: string): Promise<string> {
    const deadline = Date.now() + this.options.waitMs;
    for (;;) {
      let token: string | null;
      try {
        token = await this.lock.acquire(key, this.options.lockTtlMs);
      } catch {
        throw new UnavailableError(`the ${kind} quota cannot be checked right now; try again`);
      }
      if (token) return token;
      if (Date.now() >= deadline) throw new RateLimitedError(`other ${kind} of this account are being created; try again`, 1);
      await new Promise((r) => setTimeout(r, this.options.pollMs));
    }
  }
}

/** The 409 an account at its cap of `kind` gets. */
export function quotaExceeded(kind: string, max: number): QuotaExceededError {
  return new QuotaExceededError(`the account already has ${max} ${kind}, the most it may have; delete one first`);
}
