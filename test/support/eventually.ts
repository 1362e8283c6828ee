import { inspect } from 'node:util';

export interface EventuallyOptions<T> {
  /** How long to keep trying (default 15 000 ms). */
  timeoutMs?: number;
  /** The pause between two tries (default 50 ms). */
  intervalMs?: number;
  /** What is awaited, for the error on timeout: "timed out after … waiting for <message>: …". */
  message?: string;
  /** Also retry while this is false for the value `fn` returned. */
  until?: (value: T) => boolean;
}

/**
 * The one way tests wait for something that happens in the background (workers, pub/sub,
 * other connections): calls `fn` until it returns without throwing and, given `until`, with
 * a value that satisfies it; then returns that value.
 *
 * `fn` is tried at once, then every `intervalMs`; once `timeoutMs` has passed, the last
 * error is thrown, its message led by `message` (a value that failed `until` is shown).
 * `expect` calls inside `fn` make it wait for an assertion to hold:
 *
 *   await eventually(async () => expect(await jobState()).toBe('completed'));
 *   const d = await eventually(() => getDomain(id), { until: (x) => x.status === 'verified' });
 */
export async function eventually<T>(fn: () => T | Promise<T>, opts: EventuallyOptions<T> = {}): Promise<T> {
  const { timeoutMs = 15_000, intervalMs = 50, message, until: holds } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let failure: unknown;
    try {
      const value = await fn();
      if (!holds || holds(value)) return value;
      failure = new Error(`the condition did not hold; last value: ${inspect(value, { depth: 4, breakLength: Infinity })}`);
    } catch (err) {
      failure = err;
    }
    if (Date.now() >= deadline) throw timedOut(failure, `timed out after ${timeoutMs} ms${message ? ` waiting for ${message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Waits until `predicate` returns a truthy value, and returns that value:
 *
 *   await until(() => rx.hits.length >= 3, { message: 'three attempts' });
 *   const hit = await until(() => rx.hits[0]);
 */
export function until<T>(predicate: () => T | Promise<T>, opts: Omit<EventuallyOptions<T>, 'until'> = {}): Promise<Truthy<T>> {
  return eventually(predicate, { ...opts, until: Boolean }) as Promise<Truthy<T>>;
}

/** The last error, its message led by `prefix` (jest prints the message, then the stack's frames). */
function timedOut(failure: unknown, prefix: string): unknown {
  if (!(failure instanceof Error)) return new Error(`${prefix}: ${inspect(failure)}`);
  failure.message = `${prefix}: ${failure.message}`;
  return failure;
}
