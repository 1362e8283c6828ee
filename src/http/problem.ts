import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from '../logger';
import { AppError, isStoreUnreachable, RateLimitedError, type FieldError } from '../errors';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Writes an RFC 9457 problem+json response. */
export function sendProblem(res: Response, status: number, code: string, detail: string, errors?: FieldError[]): void {
  res
    .status(status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: `https://mailwarden.dev/problems/${code}`,
        title: TITLES[status] ?? 'Error',
        status,
        detail,
        ...(errors && errors.length ? { errors } : {}),
      }),
    );
}

/** Body-parser and http-errors failures carry `type` and `status`; they are client errors. */
interface HttpLikeError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
}

const BODY_PARSER: Record<string, [number, string, string]> = {
  'entity.parse.failed': [400, 'malformed_json', 'the request body is not valid JSON'],
  'entity.too.large': [413, 'payload_too_large', 'the request body is larger than 100 kB'],
  'encoding.unsupported': [415, 'unsupported_encoding', 'the request body encoding is not supported'],
  'charset.unsupported': [415, 'unsupported_charset', 'the request body charset is not supported'],
  'request.aborted': [400, 'request_aborted', 'the request was aborted'],
  'request.size.invalid': [400, 'request_size_invalid', 'the request body size does not match Content-Length'],
};

/** The one error handler: typed errors become problem+json, nothing unknown leaks. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) return void res.end();
    if (err instanceof AppError) {
      if (err instanceof RateLimitedError) res.setHeader('Retry-After', String(err.retryAfterSeconds));
      return sendProblem(res, err.httpStatus, err.code, err.message, err.errors);
    }
    const e = err as HttpLikeError;
    if (e.type && BODY_PARSER[e.type]) {
      const [status, code, detail] = BODY_PARSER[e.type];
      return sendProblem(res, status, code, detail, status === 400 ? [{ field: 'body', message: detail }] : undefined);
    }
    const status = e.status ?? e.statusCode;
    if (status && status >= 400 && status < 500) return sendProblem(res, status, 'bad_request', TITLES[status] ?? 'bad request');
    if (isStoreUnreachable(err)) {
      // Not a bug: the database or Redis is down or full for a moment. The client may retry.
      logger.warn({ err: (err as Error).message, name: (err as Error).name, method: req.method, path: req.path }, 'a store is unreachable');
      res.setHeader('Retry-After', '5');
      return sendProblem(res, 503, 'unavailable', 'a store the service needs is unreachable right now; try again shortly');
    }
    logger.error({ err, method: req.method, path: req.path }, 'unhandled error in request');
    return sendProblem(res, 500, 'internal', 'an internal error occurred; it has been logged');
  };
}

export const notFoundHandler: RequestHandler = (req, res) =>
  sendProblem(res, 404, 'not_found', `no route for ${req.method} ${req.path}`);
