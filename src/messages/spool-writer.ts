import type { MessageDoc } from './message.model';

/** Where the spool's batches go (MessageStore.insertBatch): one outcome per document, in order. */
export interface SpoolBatchStore {
  insertBatch(docs: MessageDoc[]): Promise<Array<Error | null>>;
  remove(id: string): Promise<void>;
}

export interface SpoolWriterOptions {
  /** How long the first document of a batch waits for others when no batch is in flight (2 ms). */
  windowMs: number;
  /** The most documents one batch carries (100). */
  maxBatch: number;
}

interface Pending {
  doc: MessageDoc;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * The relay's spool with group commit (issue 11): the documents that concurrent sessions
 * spool within `windowMs`, or while the previous batch is in flight, go to the database in
 * one unordered, journaled insert. Each `insert` resolves only once its own document is
 * durable, and rejects with that document's own write error, so one failed document costs
 * only its session a 4xx; a batch that fails as a whole rejects every document in it.
 * One batch is in flight at a time: the next one gathers while it is.
 */
export class SpoolWriter {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = false;

  constructor(
    private readonly store: SpoolBatchStore,
    private readonly options: SpoolWriterOptions = { windowMs: 2, maxBatch: 100 },
  ) {}

  /** Documents waiting for a batch (not yet sent to the database). */
  get waiting(): number {
    return this.queue.length;
  }

  /** Spools `doc`; resolves once it is durable, before the client may hear 250. */
  insert(doc: MessageDoc): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ doc, resolve, reject });
      if (this.inFlight) return;
      if (this.queue.length >= this.options.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.windowMs);
    });
  }

  /** Removes a spooled message that was never acknowledged to the client. */
  remove(id: string): Promise<void> {
    return this.store.remove(id);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.options.maxBatch);
    this.inFlight = true;
    const settle = (outcome: (p: Pending, i: number) => void) => batch.forEach(outcome);
    void this.store
      .insertBatch(batch.map((p) => p.doc))
      .then(
        (errors) => settle((p, i) => (errors[i] ? p.reject(errors[i]!) : p.resolve())),
        (err: unknown) => settle((p) => p.reject(err instanceof Error ? err : new Error(String(err)))),
      )
      .finally(() => {
        this.inFlight = false;
        // What gathered meanwhile has waited one round trip already: it goes at once.
        this.flush();
      });
  }
}
