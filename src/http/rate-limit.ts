import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { RateLimitedError } from '../errors';
import type { Logger } from '../logger';
import { withDeadline } from '../deadline';

/** One request against a caller's budget (a Redis token bucket in production). */
export interface RequestLimiter {
  take(callerKey: string): Promise<{ allowed: boolean; retryAfterMs: number }>;
  /** For the 429's detail, e.g. "20 requests a second, bursts of 50". */
  readonly description: string;
}

/**
 * Rate-limits authenticated /v1 requests per API key (mounted after `authenticate`, so
 * only real keys get a bucket). The bucket is named by a hash of the key, never the key.
 * Over the budget: 429 problem+json with Retry-After. If the limiter's store is away or
 * silent past `deadlineMs`, the request goes through, with a warning: the budget protects the service, it is not a
 * permission, and the API should not go down with Redis.
 */
export function rateLimitPerApiKey(limiter: RequestLimiter, logger: Logger, deadlineMs = 500): RequestHandler {
  return async (req, _res, next) => {
    const key = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!key) return next();
    let decision;
    try {
      // A Redis that accepts the command but never answers must not hold the request.
      const bucket = createHash('sha256').update(`api-rate:${key}`).digest('base64url').slice(0, 22);
      decision = await withDeadline(limiter.take(bucket), deadlineMs, 'redis (api rate limit)');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'api rate limit unavailable; request let through');
      return next();
    }
    if (!decision.allowed) {
      throw new RateLimitedError(`too many requests with this API key (${limiter.description}); retry later`, Math.max(1, Math.ceil(decision.retryAfterMs / 1000)));
    }
    next();
  };
}
