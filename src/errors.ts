/** A field-level problem, reported in problem+json `errors[]`. */
export interface FieldError {
  field: string;
  message: string;
}

/** Base class of every error the service maps to an HTTP status or SMTP reply. */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly httpStatus: number,
    message: string,
    readonly errors?: FieldError[],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, errors?: FieldError[]) {
    super('validation_failed', 400, message, errors);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'a valid API key is required') {
    super('unauthorized', 401, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'this key may not use this route') {
    super('forbidden', 403, message);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string) {
    super('not_found', 404, `${what} not found`);
  }
}

export class ConflictError extends AppError {
  constructor(message: string) {
    super('conflict', 409, message);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message: string) {
    super('payload_too_large', 413, message);
  }
}

export class UnavailableError extends AppError {
  constructor(message: string) {
    super('unavailable', 503, message);
  }
}

/**
 * The driver errors that mean MongoDB or Redis cannot be reached right now, by class name (the
 * HTTP layer imports no driver). FerretDB passes PostgreSQL's own refusals through as server
 * errors, so those are recognised by the few messages PostgreSQL gives when it is down or full.
 */
const UNREACHABLE_STORE_ERRORS = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
  'MaxRetriesPerRequestError',
]);
const UNREACHABLE_POSTGRES = /too many clients already|terminating connection due to administrator command|the database system is (starting up|shutting down|in recovery mode)|connect ECONNREFUSED/i;

/** True when the error (or its cause) says a store is unreachable now: the request may succeed later. */
export function isStoreUnreachable(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { name, message } = e as { name?: unknown; message?: unknown };
    if (typeof name === 'string' && UNREACHABLE_STORE_ERRORS.has(name)) return true;
    if (name === 'MongoServerError' && typeof message === 'string' && UNREACHABLE_POSTGRES.test(message)) return true;
  }
  return false;
}

/** MongoDB's duplicate-key error, recognised by its code, never by its text. */
export function isDuplicateKeyError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

export class RateLimitedError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('rate_limited', 429, message);
  }
}

/**
 * The account holds the most objects of a kind it may (domains, webhooks): 409, like the
 * sixth SMTP user of a domain. The state of the account conflicts with one more; deleting
 * one resolves it, which a 403 would not say.
 */
export class QuotaExceededError extends AppError {
  constructor(message: string) {
    super('quota_exceeded', 409, message);
  }
}
