import type { Redis } from 'ioredis';
import type { Clock } from '../clock';

export interface TokenDecision {
  allowed: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Until the next token, when refused (0 when allowed). */
  retryAfterMs: number;
}

// Refill and take in one script, so concurrent requests on many API replicas never both
// spend the last token. The time comes from the caller's clock; a clock behind the stored
// one (another replica's) refills nothing rather than going negative. The key expires once
// a full bucket would have refilled, so idle keys cost no memory.
const TAKE = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
elseif now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  at = now
end
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return { allowed, math.floor(tokens), retry }
`;

type TakeCommand = (key: string, rate: number, burst: number, nowMs: number) => Promise<[number, number, number]>;

/** A token bucket per key in Redis: `ratePerSecond` tokens a second, at most `burst` saved up. */
export class TokenBucketLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly clock: Clock,
  ) {
    if (!('mwTokenBucketTake' in redis)) redis.defineCommand('mwTokenBucketTake', { numberOfKeys: 1, lua: TAKE });
  }

  /** Takes one token from `key`'s bucket; refused when none is left. */
  async take(key: string, ratePerSecond: number, burst: number): Promise<TokenDecision> {
    const cmd = (this.redis as unknown as { mwTokenBucketTake: TakeCommand }).mwTokenBucketTake.bind(this.redis);
    const [allowed, remaining, retryAfterMs] = await cmd(`${this.prefix}:tb:${key}`, ratePerSecond, burst, this.clock.now().getTime());
    return { allowed: allowed === 1, remaining, retryAfterMs };
  }
}
