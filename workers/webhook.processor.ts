import { UnrecoverableError, type Job } from 'bullmq';
import { webhookPayload } from '../src/queue/queues';
import { WebhookGaveUpError, type WebhookDeliveryService, type WebhookOutcome } from '../src/webhooks/webhook-delivery.service';

/** One webhook attempt; give-ups are permanent, anything else retries on the backoff schedule. */
export function webhookProcessor(deliveries: WebhookDeliveryService) {
  return async (job: Job): Promise<WebhookOutcome> => {
    const parsed = webhookPayload.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid webhook payload: ${parsed.error.message}`);
    try {
      return await deliveries.deliver(parsed.data.eventId, parsed.data.webhookId, { attemptsMade: job.attemptsMade, maxAttempts: job.opts.attempts ?? 1 });
    } catch (err) {
      if (err instanceof WebhookGaveUpError) throw new UnrecoverableError(err.message);
      throw err;
    }
  };
}
