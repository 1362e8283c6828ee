import { UnrecoverableError, type Job } from 'bullmq';
import { webhookDispatchPayload } from '../src/queue/queues';
import type { WebhookService } from '../src/webhooks/webhook.service';

/** Fans one event out to its subscriptions, or (no eventId: the sweep's safety net) re-enqueues every event not yet fanned out. */
export function webhookDispatchProcessor(webhooks: WebhookService) {
  return async (job: Job): Promise<number | 'busy'> => {
    const parsed = webhookDispatchPayload.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid webhook-dispatch payload: ${parsed.error.message}`);
    return parsed.data.eventId ? webhooks.dispatchEvent(parsed.data.eventId) : webhooks.dispatchPending();
  };
}
