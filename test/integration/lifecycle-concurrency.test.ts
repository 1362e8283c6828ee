import type { RunningWorkers } from '../../workers';
import { DnsFixture } from '../support/dns-fixture';
import { eventually } from '../support/eventually';
import { createAccount, registerDomain, type TestAccount } from '../support/factories';
import { createTestContainer, uniqueName, type TestContainer } from '../support/services';

const INCLUDE = '_spf.mw.test';

describe('lifecycle under concurrency and crashes', () => {
  let dns: DnsFixture;
  let a: TestContainer;
  let b: TestContainer;
  let acct: TestAccount;

  beforeAll(async () => {
    dns = await DnsFixture.withInclude(INCLUDE);
    // Two containers on one database and one queue prefix: two worker processes.
    const env = { ...dns.env(), SPF_INCLUDE_DOMAIN: INCLUDE, QUEUE_PREFIX: `{${uniqueName('mwc')}}`, SWEEP_INTERVAL_MS: '150', PROPAGATION_SCHEDULE: '200ms' };
    const dbName = uniqueName('t');
    a = await createTestContainer(env, { dbName, jitter: (ms) => ms });
    b = await createTestContainer(env, { dbName, jitter: (ms) => ms });
    acct = await createAccount(a.http);
  });
  afterAll(async () => {
    await b.close();
    await a.dispose();
    await dns.close();
  });

  const publish = (d: any) => {
    for (const r of d.records) dns.publish(r.name, 'TXT', [r.strings]);
  };

  it('never transitions a domain twice or emits an event twice when checks race', async () => {
    const d = await registerDomain(a.http, acct, 'race.example.test', 'ed25519');
    publish(d);
    const outcomes = await Promise.all([1, 2, 3, 4].flatMap(() => [a.lifecycle.check(d.id, 'scheduled'), b.lifecycle.check(d.id, 'scheduled')]));
    expect(outcomes.filter((o) => o === 'checked').length).toBeGreaterThanOrEqual(1);
    expect(outcomes.every((o) => o === 'checked' || o === 'locked' || o === 'stale')).toBe(true);
    // Whatever interleaving happened, one transition and one event.
    await a.lifecycle.check(d.id, 'scheduled');
    expect((await a.events.listForDomain(d.id)).map((e) => e.type)).toEqual(['domain.verified']);
    const doc = await a.stores.domains.findById(d.id);
    expect(doc?.status).toBe('verified');
  });

  it('two worker sets checking the same domains produce one event per transition', async () => {
    const ds: Array<{ id: string }> = [];
    for (const n of [1, 2, 3]) {
      const d = await registerDomain(a.http, acct, `pair${n}.example.test`, 'ed25519');
      publish(d);
      ds.push(d);
    }
    const workers: RunningWorkers[] = [await a.start('worker', { workers: { dnsConcurrency: 4 } }), await b.start('worker', { workers: { dnsConcurrency: 4 } })];
    try {
      // Verified, and the outbox published: the transition's event is in, or never will be.
      await eventually(() => Promise.all(ds.map((d) => a.stores.domains.findById(d.id))), {
        until: (docs) => docs.every((x) => x?.status === 'verified' && x.outbox.length === 0),
        timeoutMs: 10_000,
        message: 'the domains to verify and publish their events',
      });
    } finally {
      for (const w of workers) await w.close();
    }
    for (const d of ds) expect((await a.events.listForDomain(d.id)).map((e) => e.type)).toEqual(['domain.verified']);
  });

  it('a check whose worker died holding the lock is delayed, then picked up by a later sweep', async () => {
    const d = await registerDomain(a.http, acct, 'crash.example.test', 'ed25519');
    publish(d);
    // A worker took the lock and died: its lock outlives it until the TTL.
    const token = await a.redis.set(`${a.config.queuePrefix}:lock:domain:${d.id}`, 'dead-worker', 'PX', 700, 'NX');
    expect(token).toBe('OK');
    expect(await b.lifecycle.check(d.id, 'scheduled')).toBe('locked');
    expect((await a.stores.domains.findById(d.id))?.status).toBe('pending');
    const workers = await b.start('worker', { workers: { dnsConcurrency: 2 } });
    try {
      await eventually(() => a.stores.domains.findById(d.id), {
        until: (x) => x?.status === 'verified',
        timeoutMs: 10_000,
        message: 'a later sweep to pick the domain up',
      });
    } finally {
      await workers.close();
    }
  });

  it('publishes events a crash left in the outbox, exactly once', async () => {
    const d = await registerDomain(a.http, acct, 'outbox.example.test', 'ed25519');
    const old = new Date(Date.now() - 60_000);
    // State as a worker left it when it died after the transition, before publishing.
    await a.mongo.collection('domains').updateOne({ _id: d.id } as never, {
      $set: { status: 'verified', version: 2, outbox: [{ id: `${d.id}-2`, type: 'domain.verified', version: 2, at: old }], outboxSince: old, nextCheckAt: new Date(Date.now() + 3600_000) },
    });
    await Promise.all([a.lifecycle.maintain(), b.lifecycle.maintain()]);
    await a.lifecycle.maintain();
    const events = await a.events.listForDomain(d.id);
    expect(events.map((e) => [e._id, e.type])).toEqual([[`${d.id}-2`, 'domain.verified']]);
    const doc = await a.stores.domains.findById(d.id);
    expect(doc?.outbox).toEqual([]);
    expect(doc?.outboxSince).toBeNull();
  });

  it('prunes checks past the retention age and past the per-domain cap', async () => {
    const d = await registerDomain(a.http, acct, 'prune.example.test', 'ed25519');
    const base = { domainId: d.id, accountId: acct.id, trigger: 'scheduled' as const, verdict: 'fail' as const, zone: null, records: [], dmarc: { found: null, advice: null }, statusBefore: 'pending', statusAfter: 'pending', durationMs: 1 };
    const ids = ['chk_00000000010000000000000001', 'chk_00000000020000000000000001', 'chk_00000000030000000000000001', 'chk_00000000040000000000000001'];
    for (const id of ids) await a.checks.insert({ ...base, _id: id, createdAt: new Date() });
    await a.checks.insert({ ...base, _id: 'chk_00000000000000000000000001', createdAt: new Date(Date.now() - 40 * 24 * 3600_000) });
    await a.lifecycle.maintain();
    let left = (await a.checks.listForDomain(acct.id, d.id, 100)).map((c) => c._id);
    expect(left).toEqual([...ids].reverse());
    expect(await a.checks.trimDomain(d.id, 2)).toBe(2);
    left = (await a.checks.listForDomain(acct.id, d.id, 100)).map((c) => c._id);
    expect(left).toEqual([ids[3], ids[2]]);
  });
});
