import type { Redis } from 'ioredis';
import { deliverySnapshot, type DeliverySnapshot } from './queues';

/** How long an untaken snapshot stays: past that, the first attempt reads the message instead. */
const SNAPSHOT_TTL_MS = 60 * 60_000;

/**
 * A small message's snapshot, kept in Redis beside its delivery job (the job's own data
 * stays `{queueId}`), so that the first attempt need not read the message back. Taken
 * (GETDEL) by the attempt; a lost or expired snapshot only costs that read.
 */
export class DeliverySnapshots {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(queueId: string): string {
    return `${this.prefix}:delivery-snapshot:${queueId}`;
  }

  async put(queueId: string, snapshot: DeliverySnapshot): Promise<void> {
    await this.redis.set(this.key(queueId), JSON.stringify(snapshot), 'PX', SNAPSHOT_TTL_MS);
  }

  /** Removes the snapshot, if any: its message was withdrawn before the client heard 250. */
  async drop(queueId: string): Promise<void> {
    await this.redis.del(this.key(queueId));
  }

  /** The snapshot, removed; undefined when there is none (or it does not parse). */
  async take(queueId: string): Promise<DeliverySnapshot | undefined> {
    const text = await this.redis.getdel(this.key(queueId));
    if (!text) return undefined;
    try {
      const parsed = deliverySnapshot.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }
}
