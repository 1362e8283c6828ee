import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { DeliveryFailedError, LOCK_TTL_MS, type DeliveryOutcome, type DeliveryService } from '../src/messages/delivery.service';
import { deliveryPayload } from '../src/queue/queues';

/**
 * Parses the payload and makes one delivery attempt; a failed message is permanent, a
 * deferred one retries, and so does a held one (its domain may not send now): the
 * attempts and their backoff are the window in which the domain may be allowed again.
 */
export function deliveryProcessor(delivery: DeliveryService) {
  return async (job: Job, token?: string): Promise<DeliveryOutcome> => {
    const parsed = deliveryPayload.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid delivery payload: ${parsed.error.message}`);
    let outcome: DeliveryOutcome;
    try {
      outcome = await delivery.deliver(parsed.data.queueId, { attemptsMade: job.attemptsMade, maxAttempts: job.opts.attempts ?? 1 });
    } catch (err) {
      if (err instanceof DeliveryFailedError) throw new UnrecoverableError(err.message);
      throw err;
    }
    // Another run holds the message, or held it when it died: try again once that lock has
    // either been released or run out (one LOCK_TTL_MS), without spending one of the
    // message's attempts or waiting for the backoff. Never drop the job.
    if (outcome === 'locked') {
      await job.moveToDelayed(Date.now() + LOCK_TTL_MS, token);
      throw new DelayedError(`message ${parsed.data.queueId} is locked by another delivery; retrying in ${LOCK_TTL_MS} ms`);
    }
    return outcome;
  };
}
