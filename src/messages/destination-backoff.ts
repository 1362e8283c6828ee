import type { Clock } from '../clock';
import type { SmtpReply } from './smtp-reply';

/** Why a destination is resting: what its last attempt got. */
export interface DestinationFailure {
  reason: string;
  reply: SmtpReply | null;
  remoteHost: string | null;
}

export interface RestingDestination extends DestinationFailure {
  /** Failed attempts in a row. */
  failures: number;
  until: Date;
}

/** The longest rest is this many times the base (64 × 1 minute: about an hour, as Postfix's maximal_backoff_time). */
const MAX_FACTOR = 64;
/** Destinations remembered at once; the oldest rests are forgotten first (forgetting only costs an attempt). */
const MAX_DESTINATIONS = 10_000;

/**
 * Backoff per destination (the set of MX hosts of a recipient domain), like Postfix's dead
 * destinations: after a session-level temporary failure (no MX host took a session, or one
 * answered 421), no message tries that destination again until its rest is over, so a
 * destination that is down or throttling us is not hammered by every queued message. The rest
 * doubles with each failure in a row, from `baseMs` up to 64 × `baseMs`; a success ends it.
 * Per worker process, like the connection pool. `baseMs` 0 turns it off.
 */
export class DestinationBackoff {
  private readonly resting = new Map<string, RestingDestination>();

  constructor(
    private readonly baseMs: number,
    private readonly clock: Clock,
  ) {}

  /** The rest the destination is in now, if any. */
  restingNow(key: string): RestingDestination | undefined {
    const r = this.resting.get(key);
    return r && r.until.getTime() > this.clock.now().getTime() ? r : undefined;
  }

  /** A session-level temporary failure: the destination rests for longer than after the last one. */
  failed(key: string, failure: DestinationFailure): void {
    if (this.baseMs <= 0) return;
    const failures = (this.resting.get(key)?.failures ?? 0) + 1;
    const restMs = this.baseMs * Math.min(2 ** (failures - 1), MAX_FACTOR);
    this.resting.delete(key);
    if (this.resting.size >= MAX_DESTINATIONS) this.resting.delete(this.resting.keys().next().value!);
    this.resting.set(key, { ...failure, failures, until: new Date(this.clock.now().getTime() + restMs) });
  }

  /** A session was had: the destination is well again. */
  succeeded(key: string): void {
    this.resting.delete(key);
  }
}
