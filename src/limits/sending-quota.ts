import type { Redis } from 'ioredis';

/** A domain's sending limits, counted per recipient (DESIGN §5). */
export interface SendingLimits {
  rateLimitPerSecond: number;
  dailyQuota: number;
}

/** `ok`: counted; `rate`: over the per-second rate; `daily`: over the daily quota (neither counted). */
export type QuotaVerdict = 'ok' | 'rate' | 'daily';

const DAY_MS = 24 * 3600_000;

/**
 * Reads both windows and counts in both only when neither is full, all in one script, so
 * that concurrent relays can never count past a limit between a read and a write, and a
 * refused recipient counts nowhere. The daily quota is looked at first: it is the longer
 * wait, and the client should hear about it rather than retry each second.
 */
const HIT_SCRIPT = `
local day = tonumber(redis.call('GET', KEYS[2]) or '0')
if day >= tonumber(ARGV[2]) then return 2 end
local sec = tonumber(redis.call('GET', KEYS[1]) or '0')
if sec >= tonumber(ARGV[1]) then return 1 end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
return 0
`;

interface QuotaCommands {
  mwSendingQuotaHit(secondKey: string, dayKey: string, perSecond: number, perDay: number, secondTtlMs: number, dayTtlMs: number): Promise<number>;
}

/** The UTC day of `now`, as the daily window names it: 2030-01-31. */
export const utcDay = (now: Date) => now.toISOString().slice(0, 10);

/** The next 00:00 UTC after `now`, when the daily window starts again. */
export function nextUtcMidnight(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) + DAY_MS);
}

/**
 * Per-domain recipient counters in Redis: a fixed window per second (epoch second) and
 * one per UTC day. Every key expires by itself (a second window after 2 s, a day window
 * an hour after its day ends, leaving room for relays whose clocks differ a little). The
 * keys share the hash-tagged prefix, so one script may touch both on Redis Cluster.
 */
export class SendingQuota {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    // EVALSHA, loading the script again when Redis answers NOSCRIPT (after a restart).
    redis.defineCommand('mwSendingQuotaHit', { numberOfKeys: 2, lua: HIT_SCRIPT });
  }

  /** Counts one recipient for the domain at `now`, unless a window is already full. */
  async hit(domainId: string, limits: SendingLimits, now: Date): Promise<QuotaVerdict> {
    const second = Math.floor(now.getTime() / 1000);
    const dayTtlMs = nextUtcMidnight(now).getTime() - now.getTime() + 3600_000;
    const res = await (this.redis as unknown as QuotaCommands).mwSendingQuotaHit(
      `${this.prefix}:quota:${domainId}:s:${second}`,
      this.dayKey(domainId, now),
      limits.rateLimitPerSecond,
      limits.dailyQuota,
      2000,
      dayTtlMs,
    );
    return res === 2 ? 'daily' : res === 1 ? 'rate' : 'ok';
  }

  /** Recipients counted for each domain on the UTC day of `now`, in the order given. */
  async sentToday(domainIds: string[], now: Date): Promise<number[]> {
    if (domainIds.length === 0) return [];
    const values = await this.redis.mget(...domainIds.map((id) => this.dayKey(id, now)));
    return values.map((v) => Number(v ?? 0));
  }

  private dayKey(domainId: string, now: Date): string {
    return `${this.prefix}:quota:${domainId}:d:${utcDay(now)}`;
  }
}
