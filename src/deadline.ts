import { UnavailableError } from './errors';

/** A store that did not answer in time; the relay turns it into `451 4.3.0`. */
export class DeadlineExceededError extends UnavailableError {
  constructor(
    readonly what: string,
    readonly deadlineMs: number,
  ) {
    super(`${what} did not answer within ${deadlineMs} ms`);
  }
}

/**
 * `work`, or DeadlineExceededError once `ms` have passed without an answer. The work is
 * not cancelled (a Redis command cannot be taken back); its late result or error is
 * dropped, so a caller that gave up must undo whatever the work may still do.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DeadlineExceededError(what, ms)), ms);
    timer.unref();
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
