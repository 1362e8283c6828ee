import type { LifecycleService } from '../src/domains/lifecycle.service';
import type { MessageRecovery } from '../src/messages/message-recovery';
import type { JobProducer } from '../src/queue/producers';

const MAINTENANCE_EVERY_MS = 60_000;
// Longer than a live worker takes to enqueue or send a message: older ones were left behind.
const MESSAGE_STUCK_AFTER_MS = 10 * 60_000;

/** One sweeper tick; housekeeping rides along at most once a minute, off the per-tick path. */
export function sweepProcessor(lifecycle: LifecycleService, recovery: MessageRecovery, producer: JobProducer, now: () => number = Date.now) {
  let lastMaintenance = 0;
  return async (): Promise<{ due: number }> => {
    const due = await lifecycle.sweep();
    // Fan-out is not done here: each event has its own webhook-dispatch job, enqueued when it
    // is written, so no tenant's subscriptions hold up this tick. The scan job enqueued here
    // (one at a time, by its job id) only catches events whose own job was lost.
    await producer.enqueueWebhookDispatchScan();
    if (now() - lastMaintenance >= MAINTENANCE_EVERY_MS) {
      lastMaintenance = now();
      await lifecycle.maintain();
      await recovery.requeueStuck(new Date(now() - MESSAGE_STUCK_AFTER_MS));
    }
    return { due };
  };
}
