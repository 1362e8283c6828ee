import type { MxDelivery } from './mx.transport';
import { sameForAll, type RecipientResult } from './mx-transaction';

export type { RecipientResult, RecipientOutcome } from './mx-transaction';

/**
 * Sends a finished (signed) message to the recipients given and says what became of each,
 * one result per recipient in the order given. Every DELIVERY_MODE has one: capture,
 * smarthost and mx. Never throws for what a remote server or the network did.
 */
export interface DeliveryTransport {
  deliver(msg: MxDelivery): Promise<RecipientResult[]>;
  close(): void | Promise<void>;
}

/** DELIVERY_MODE=capture: nothing leaves; every recipient counts as delivered (the service keeps the copy). */
export const captureTransport: DeliveryTransport = {
  async deliver(msg) {
    return sameForAll(msg.recipients, 'delivered', 'captured');
  },
  close() {},
};
