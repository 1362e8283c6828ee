import { AllowlistCache, type IgnoredEntry } from '../../../src/relay/allowlist-cache';

/** A promise the test settles by hand, to order loads deterministically. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A cache over an in-memory "database" whose loads can be held back. */
function cacheOver(db: Map<string, string[]>, options: { batchSize?: number } = {}) {
  const gates: { all: Array<ReturnType<typeof deferred<void>>>; one: Array<ReturnType<typeof deferred<void>>> } = { all: [], one: [] };
  let holdAll = false;
  let holdOne = false;
  const ignored: IgnoredEntry[] = [];
  const cache = new AllowlistCache(
    async () => {
      // Read now, answer when released: the read is what goes stale.
      const snapshot = [...db].map(([domainId, cidrs]) => ({ domainId, cidrs: [...cidrs] }));
      if (holdAll) {
        const g = deferred<void>();
        gates.all.push(g);
        await g.promise;
      }
      return snapshot;
    },
    async (id) => {
      const snapshot = db.has(id) ? [...db.get(id)!] : null;
      if (holdOne) {
        const g = deferred<void>();
        gates.one.push(g);
        await g.promise;
      }
      return snapshot;
    },
    { onIgnored: (e) => ignored.push(e), batchSize: options.batchSize },
  );
  return {
    cache,
    ignored,
    gates,
    hold: (which: 'all' | 'one', on = true) => (which === 'all' ? (holdAll = on) : (holdOne = on)),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('AllowlistCache', () => {
  it('answers for any domain at connect and for one domain at AUTH', async () => {
    const db = new Map([
      ['d1', ['192.0.2.0/24', '2001:db8::/32']],
      ['d2', ['198.51.100.7/32']],
    ]);
    const { cache } = cacheOver(db);
    expect(cache.ready).toBe(false);
    await cache.refresh();
    expect(cache.ready).toBe(true);
    expect(cache.anyAllows('192.0.2.9')).toBe(true);
    expect(cache.anyAllows('::ffff:192.0.2.9')).toBe(true);
    expect(cache.anyAllows('198.51.100.7')).toBe(true);
    expect(cache.anyAllows('2001:db8:1::1')).toBe(true);
    expect(cache.anyAllows('203.0.113.1')).toBe(false);
    expect(cache.anyAllows('not an address')).toBe(false);
    expect(cache.domainAllows('d1', '192.0.2.9')).toBe(true);
    expect(cache.domainAllows('d1', '::ffff:192.0.2.9')).toBe(true);
    expect(cache.domainAllows('d1', '198.51.100.7')).toBe(false);
    expect(cache.domainAllows('d2', '198.51.100.7')).toBe(true);
    expect(cache.domainAllows('d3', '198.51.100.7')).toBe(false);
  });

  it('reloads one domain without touching the networks of the others, also where they overlap', async () => {
    const db = new Map([
      ['d1', ['10.0.0.0/8', '192.0.2.0/24']],
      ['d2', ['192.0.2.0/24']],
    ]);
    const { cache } = cacheOver(db);
    await cache.refresh();
    db.set('d2', ['198.51.100.0/24']);
    await cache.reload('d2');
    expect(cache.anyAllows('192.0.2.1')).toBe(true); // d1 still holds it
    expect(cache.domainAllows('d2', '192.0.2.1')).toBe(false);
    expect(cache.domainAllows('d2', '198.51.100.1')).toBe(true);
    db.delete('d1');
    await cache.reload('d1');
    expect(cache.anyAllows('192.0.2.1')).toBe(false);
    expect(cache.anyAllows('10.1.2.3')).toBe(false);
    expect(cache.stats).toMatchObject({ domains: 1, v4: 1, v6: 0 });
  });

  it('does not let a refresh that read before a removal bring the removed network back', async () => {
    const db = new Map([['d1', ['192.0.2.0/24', '198.51.100.0/24']]]);
    const { cache, gates, hold } = cacheOver(db);
    await cache.refresh();
    hold('all');
    const stale = cache.refresh(); // reads d1 with both networks, then waits
    await tick();
    db.set('d1', ['198.51.100.0/24']);
    await cache.reload('d1'); // the invalidation: applied at once
    expect(cache.anyAllows('192.0.2.1')).toBe(false);
    gates.all[0].resolve();
    await stale;
    expect(cache.anyAllows('192.0.2.1')).toBe(false);
    expect(cache.domainAllows('d1', '192.0.2.1')).toBe(false);
    expect(cache.anyAllows('198.51.100.1')).toBe(true);
  });

  it('applies the newest of two reloads of a domain, whatever order they finish in', async () => {
    const db = new Map([['d1', ['192.0.2.0/24']]]);
    const { cache, gates, hold } = cacheOver(db);
    await cache.refresh();
    hold('one');
    const first = cache.reload('d1'); // reads 192.0.2.0/24
    await tick();
    db.set('d1', []);
    const second = cache.reload('d1'); // reads []
    await tick();
    gates.one[1].resolve();
    await second;
    gates.one[0].resolve();
    await first;
    expect(cache.anyAllows('192.0.2.1')).toBe(false);
  });

  it('stops applying a refresh that a newer one overtook', async () => {
    const db = new Map(Array.from({ length: 10 }, (_, i) => [`d${i}`, [`10.0.${i}.0/24`]] as [string, string[]]));
    const { cache, gates, hold } = cacheOver(db, { batchSize: 2 });
    hold('all');
    const older = cache.refresh();
    await tick();
    db.delete('d7');
    const newer = cache.refresh();
    await tick();
    gates.all[1].resolve();
    await newer;
    gates.all[0].resolve();
    await older;
    expect(cache.anyAllows('10.0.7.1')).toBe(false);
    expect(cache.anyAllows('10.0.6.1')).toBe(true);
  });

  it('keeps a domain that a failed reload could not read, and a later refresh corrects it', async () => {
    const db = new Map([['d1', ['192.0.2.0/24']]]);
    let fail = false;
    const cache = new AllowlistCache(
      async () => [...db].map(([domainId, cidrs]) => ({ domainId, cidrs })),
      async (id) => {
        if (fail) throw new Error('database down');
        return db.get(id) ?? null;
      },
    );
    await cache.refresh();
    db.set('d1', []);
    fail = true;
    await expect(cache.reload('d1')).rejects.toThrow('database down');
    expect(cache.anyAllows('192.0.2.1')).toBe(true);
    await cache.refresh();
    expect(cache.anyAllows('192.0.2.1')).toBe(false);
  });

  it('ignores stored entries that are not CIDRs or are wider than /8 or /32, and says so', async () => {
    const db = new Map([['d1', ['0.0.0.0/0', '::/0', '10.0.0.0/7', 'garbage', '192.0.2.0/24']]]);
    const { cache, ignored } = cacheOver(db);
    await cache.refresh();
    expect(cache.anyAllows('203.0.113.1')).toBe(false);
    expect(cache.anyAllows('2001:db8::1')).toBe(false);
    expect(cache.anyAllows('192.0.2.1')).toBe(true);
    expect(ignored.map((e) => [e.cidr, e.reason])).toEqual([
      ['0.0.0.0/0', 'wider than the allowed scope'],
      ['::/0', 'wider than the allowed scope'],
      ['10.0.0.0/7', 'wider than the allowed scope'],
      ['garbage', 'not a CIDR'],
    ]);
  });
});
