import type { LifecycleService } from '../src/domains/lifecycle.service';
import type { MessageRecovery } from '../src/messages/message-recovery';
import type { WebhookService } from '../src/webhooks/webhook.service';

const MAINTENANCE_EVERY_MS = 60_000;
// Longer than a live worker takes to enqueue or send a message: older ones were left behind.
const MESSAGE_STUCK_AFTER_MS = 10 * 60_000;

/** One sweeper tick; housekeeping rides along at most once a minute, off the per-tick path. */
export function sweepProcessor(lifecycle: LifecycleService, recovery: MessageRecovery, webhooks: WebhookService, now: () => number = Date.now) {
  let lastMaintenance = 0;
  return async (): Promise<{ due: number }> => {
    const due = await lifecycle.sweep();
    // Events become webhook jobs every tick; the query is an index range on undispatched events.
    await webhooks.dispatch();
    if (now() - lastMaintenance >= MAINTENANCE_EVERY_MS) {
      lastMaintenance = now();
      await lifecycle.maintain();
      await recovery.requeueStuck(new Date(now() - MESSAGE_STUCK_AFTER_MS));
    }
    return { due };
  };
}
