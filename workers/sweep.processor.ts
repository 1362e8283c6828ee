import type { DkimRotationService } from '../src/domains/dkim-rotation.service';
import type { LifecycleService } from '../src/domains/lifecycle.service';
import type { MessageRecovery } from '../src/messages/message-recovery';
import type { JobProducer } from '../src/queue/producers';

const MAINTENANCE_EVERY_MS = 60_000;
// Longer than a live worker takes to enqueue or send a message: older ones were left behind.
const MESSAGE_STUCK_AFTER_MS = 10 * 60_000;

/**
 * One sweeper tick; housekeeping rides along at most once a minute, off the per-tick path.
 * With `rotation`, each tick also starts the automatic DKIM rotations that are due.
 */
export function sweepProcessor(
  lifecycle: LifecycleService,
  recovery: MessageRecovery,
  producer: JobProducer,
  now: () => number = Date.now,
  rotation: Pick<DkimRotationService, 'autoRotate'> | null = null,
) {
  let lastMaintenance = 0;
  return async (): Promise<{ due: number }> => {
    const due = await lifecycle.sweep();
    // Fan-out is not done here: each event has its own webhook-dispatch job, enqueued when it
    // is written, so no tenant's subscriptions hold up this tick. The scan job enqueued here
    // (one at a time, by its job id) only catches events whose own job was lost.
    await producer.enqueueWebhookDispatchScan();
    if (rotation) await rotation.autoRotate();
    if (now() - lastMaintenance >= MAINTENANCE_EVERY_MS) {
      lastMaintenance = now();
      await lifecycle.maintain();
      await recovery.requeueStuck(new Date(now() - MESSAGE_STUCK_AFTER_MS));
    }
    return { due };
  };
}
