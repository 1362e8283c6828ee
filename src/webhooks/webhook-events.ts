import { DOMAIN_EVENT_TYPES } from '../domains/domain-state';

/** Every event a subscription may ask for (DESIGN §6). */
export const WEBHOOK_EVENT_TYPES = [...DOMAIN_EVENT_TYPES, 'message.delivered', 'message.deferred', 'message.bounced', 'message.complained', 'message.failed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
