/** What the pool needs of a connection. */
export interface Poolable {
  /** False once the connection closed or failed; such a connection is never handed out. */
  readonly alive: boolean;
  /** Called when the connection leaves the pool idle: say QUIT and close. */
  quit(): void;
  /** Called when the connection is dropped after a failure: close at once. */
  destroy(): void;
  /** Calls `fn` once the connection closes by itself (the server hung up, it timed out). */
  onClose(fn: () => void): void;
}

export interface MxConnectionPoolOptions {
  /** Connections open at once per key (MX_MAX_CONNECTIONS_PER_DOMAIN). */
  maxPerKey: number;
  /** An idle connection is closed after this long. */
  idleTimeoutMs: number;
}

/** The pool was closed while a caller waited for a connection. */
export class PoolClosedError extends Error {
  constructor() {
    super('the MX connection pool is closed');
    this.name = 'PoolClosedError';
  }
}

interface Idle<C> {
  conn: C;
  timer: NodeJS.Timeout;
}

interface Slot<C> {
  /** Connections counted against the limit: opening, in use and idle. */
  open: number;
  idle: Array<Idle<C>>;
  waiters: Array<() => void>;
}

/**
 * Connections per destination key, at most `maxPerKey` at once. A released connection waits
 * idle for the next message to the same key (which gets it before anyone opens another), and
 * is closed after `idleTimeoutMs`. Callers beyond the limit wait in line.
 */
export class MxConnectionPool<C extends Poolable> {
  private readonly slots = new Map<string, Slot<C>>();
  private closed = false;

  constructor(private readonly options: MxConnectionPoolOptions) {}

  /**
   * An idle connection of `key` (`reused: true`), or a new one from `open` while the key is
   * under its limit; otherwise waits until one is released. Throws what `open` throws.
   */
  async acquire(key: string, open: () => Promise<C>): Promise<{ conn: C; reused: boolean }> {
    for (;;) {
      if (this.closed) throw new PoolClosedError();
      // Looked up on every turn: an emptied slot is dropped from the map while we wait.
      const slot = this.slot(key);
      const idle = slot.idle.pop();
      if (idle) {
        clearTimeout(idle.timer);
        if (idle.conn.alive) return { conn: idle.conn, reused: true };
        slot.open--;
        continue;
      }
      if (slot.open < this.options.maxPerKey) {
        slot.open++;
        try {
          const conn = await open();
          conn.onClose(() => this.forget(key, conn));
          if (this.closed) {
            this.release(key, conn, false);
            throw new PoolClosedError();
          }
          return { conn, reused: false };
        } catch (err) {
          if (!(err instanceof PoolClosedError)) this.dropped(key, slot);
          throw err;
        }
      }
      await new Promise<void>((resolve) => slot.waiters.push(resolve));
    }
  }

  /** Gives a connection back: kept idle when `reusable` and still alive, else closed. */
  release(key: string, conn: C, reusable: boolean): void {
    const slot = this.slots.get(key);
    if (!slot) return conn.destroy();
    if (!reusable || !conn.alive || this.closed) {
      conn.destroy();
      return this.dropped(key, slot);
    }
    const timer = setTimeout(() => {
      const i = slot.idle.findIndex((x) => x.conn === conn);
      if (i < 0) return;
      slot.idle.splice(i, 1);
      conn.quit();
      this.dropped(key, slot);
    }, this.options.idleTimeoutMs);
    timer.unref();
    slot.idle.push({ conn, timer });
    slot.waiters.shift()?.();
  }

  /** Connections open for `key` (opening, in use or idle). */
  openCount(key: string): number {
    return this.slots.get(key)?.open ?? 0;
  }

  /** Closes every idle connection and refuses new work; connections in use close on release. */
  close(): void {
    this.closed = true;
    for (const [key, slot] of this.slots) {
      for (const { conn, timer } of slot.idle.splice(0)) {
        clearTimeout(timer);
        conn.quit();
        slot.open--;
      }
      for (const wake of slot.waiters.splice(0)) wake();
      if (slot.open <= 0) this.slots.delete(key);
    }
  }

  private slot(key: string): Slot<C> {
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { open: 0, idle: [], waiters: [] };
      this.slots.set(key, slot);
    }
    return slot;
  }

  /** An idle connection closed by itself: it no longer counts. */
  private forget(key: string, conn: C): void {
    const slot = this.slots.get(key);
    const i = slot ? slot.idle.findIndex((x) => x.conn === conn) : -1;
    if (!slot || i < 0) return;
    clearTimeout(slot.idle[i].timer);
    slot.idle.splice(i, 1);
    this.dropped(key, slot);
  }

  private dropped(key: string, slot: Slot<C>): void {
    slot.open--;
    slot.waiters.shift()?.();
    if (slot.open <= 0 && slot.waiters.length === 0 && slot.idle.length === 0) this.slots.delete(key);
  }
}
