import type { Redis } from 'ioredis';
import type { InvalidationMessage } from '../events/change-notifier';
import type { Logger } from '../logger';

/**
 * One Redis subscriber connection for the relay's caches. `live` is true only while
 * subscribed; after a reconnect every handler's `reset` runs, since messages sent
 * meanwhile were lost.
 */
export class InvalidationSubscriber {
  private subscribed = false;
  private readonly handlers = new Map<string, { onMessage: (id: string, message: InvalidationMessage) => void; reset: () => void }>();

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {
    redis.on('message', (channel: string, message: string) => {
      try {
        const parsed = JSON.parse(message) as InvalidationMessage;
        const id = parsed.domainId ?? parsed.accountId;
        if (typeof id === 'string' && id) this.handlers.get(channel)?.onMessage(id, parsed);
      } catch {
        this.logger.warn({ channel }, 'ignored a malformed invalidation message');
      }
    });
    // Without a listener ioredis reports every refused reconnect as an "Unhandled error event" on stderr.
    redis.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'redis subscriber connection error'));
    redis.on('close', () => (this.subscribed = false));
    redis.on('ready', () => void this.subscribe().catch((err) => this.logger.warn({ err: (err as Error).message }, 'resubscribe failed')));
  }

  /** `onMessage` gets the message's domainId (or, lacking one, its accountId) and the whole message. */
  on(channel: string, onMessage: (id: string, message: InvalidationMessage) => void, reset: () => void): void {
    this.handlers.set(channel, { onMessage, reset });
  }

  get live(): boolean {
    return this.subscribed && this.redis.status === 'ready';
  }

  async subscribe(): Promise<void> {
    if (this.handlers.size === 0) return;
    await this.redis.subscribe(...this.handlers.keys());
    for (const h of this.handlers.values()) h.reset();
    this.subscribed = true;
  }

  async close(): Promise<void> {
    this.subscribed = false;
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }
}
