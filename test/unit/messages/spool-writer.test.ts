import type { MessageDoc } from '../../../src/messages/message.model';
import { SpoolWriter, type SpoolBatchStore } from '../../../src/messages/spool-writer';

const doc = (id: string) => ({ _id: id }) as MessageDoc;

/** A store whose batches wait until the test settles them, one at a time. */
class HeldStore implements SpoolBatchStore {
  readonly batches: string[][] = [];
  private settle: Array<(outcome: Array<Error | null> | Error) => void> = [];

  insertBatch(docs: MessageDoc[]): Promise<Array<Error | null>> {
    this.batches.push(docs.map((d) => d._id));
    return new Promise((resolve, reject) => this.settle.push((o) => (o instanceof Error ? reject(o) : resolve(o))));
  }

  async remove(): Promise<void> {}

  next(outcome: Array<Error | null> | Error): void {
    this.settle.shift()!(outcome);
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('SpoolWriter (group commit)', () => {
  it('sends what arrives while a batch is in flight as the next batch, and settles each document by its own outcome', async () => {
    const store = new HeldStore();
    const writer = new SpoolWriter(store, { windowMs: 1, maxBatch: 100 });
    const first = writer.insert(doc('a'));
    await tick();
    expect(store.batches).toEqual([['a']]);
    const rest = ['b', 'c', 'd'].map((id) => writer.insert(doc(id)).then(() => 'ok', (e: Error) => e.message));
    expect(writer.waiting).toBe(3);
    store.next([null]);
    await first;
    await tick();
    expect(store.batches).toEqual([['a'], ['b', 'c', 'd']]);
    store.next([null, new Error('duplicate'), null]);
    expect(await Promise.all(rest)).toEqual(['ok', 'duplicate', 'ok']);
  });

  it('fails every document of a batch that failed as a whole, and splits at maxBatch', async () => {
    const store = new HeldStore();
    const writer = new SpoolWriter(store, { windowMs: 1, maxBatch: 2 });
    const all = ['a', 'b', 'c'].map((id) => writer.insert(doc(id)).then(() => 'ok', (e: Error) => e.message));
    await tick();
    expect(store.batches).toEqual([['a', 'b']]);
    store.next(new Error('connection closed'));
    await tick();
    expect(store.batches).toEqual([['a', 'b'], ['c']]);
    store.next([null]);
    expect(await Promise.all(all)).toEqual(['connection closed', 'connection closed', 'ok']);
  });
});
