import { NotFoundError } from '../errors';
import { toMessageResource, type MessageResource } from './message.resource';
import type { MessageStore } from './message.store';

/** What an account may read about the mail it sent. */
export class MessageService {
  constructor(private readonly store: MessageStore) {}

  /** The account's message by queue id; NotFoundError for any other account's. */
  async get(accountId: string, queueId: string): Promise<MessageResource> {
    const m = await this.store.findSummaryForAccount(accountId, queueId);
    if (!m) throw new NotFoundError('message');
    return toMessageResource(m);
  }

  /** The signed message as it left (capture mode keeps one once it is delivered). */
  async raw(accountId: string, queueId: string): Promise<Buffer | string> {
    const captured = await this.store.findCaptured(accountId, queueId);
    if (captured) return captured;
    const exists = await this.store.findSummaryForAccount(accountId, queueId);
    throw new NotFoundError(exists ? 'captured copy of this message (DELIVERY_MODE=capture keeps one once it is delivered)' : 'message');
  }
}
