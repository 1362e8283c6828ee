import request from 'supertest';
import type { RunningWorkers } from '../../workers';
import { dkimValue, splitTxt } from '../../src/verification/records';
import { DnsFixture } from '../support/dns-fixture';
import { createAccount, registerDomain, type TestAccount } from '../support/factories';
import { eventually } from '../support/eventually';
import { expectMatchesDocument } from '../support/openapi';
import { createTestContainer, type TestContainer } from '../support/services';

const INCLUDE = '_spf.mw.test';

/** The domain resource through the API (real workers, real time: poll it with eventually). */
async function getDomain(c: TestContainer, acct: TestAccount, id: string): Promise<any> {
  return (await expectMatchesDocument(c.http, await request(c.http).get(`/v1/domains/${id}`).set(acct.auth))).body;
}

/** The domain resource once `pred` holds for it. */
const domainWhen = (c: TestContainer, acct: TestAccount, id: string, pred: (d: any) => boolean) =>
  eventually(() => getDomain(c, acct, id), { until: pred, message: `domain ${id}: ${pred}` });

/**
 * The event types of a domain once its outbox is empty and at least `expected` are there:
 * events reach the events collection just after the state change, through the document's
 * outbox, so an empty outbox means every transition made so far has its event.
 */
async function settledEventTypes(c: TestContainer, id: string, expected: number): Promise<string[]> {
  const settled = await eventually(
    async () => {
      const outbox = (await c.stores.domains.findById(id))?.outbox;
      return { outbox, types: (await c.events.listForDomain(id)).map((e) => e.type) };
    },
    { until: (x) => x.outbox?.length === 0 && x.types.length >= expected, timeoutMs: 5000, message: `the events of ${id}` },
  );
  return settled.types;
}

describe('verification lifecycle through the API, workers and the test DNS server', () => {
  let dns: DnsFixture;
  let c: TestContainer;
  let workers: RunningWorkers;
  let acct: TestAccount;

  beforeAll(async () => {
    dns = await DnsFixture.withInclude(INCLUDE);
    c = await createTestContainer(
      {
        ...dns.fastLifecycleEnv(INCLUDE),
        RECHECK_INTERVAL_MS: '300',
        CONFIRM_DELAY_MS: '500',
        DEGRADED_AFTER_MS: '600',
        APPROVAL_MODE: 'auto',
      },
      { jitter: (ms) => ms },
    );
    workers = await c.start('worker', { workers: { dnsConcurrency: 4 } });
    acct = await createAccount(c.http);
  });
  afterAll(async () => {
    await workers.close();
    await c.dispose();
    await dns.close();
  });
  afterEach(() => dns.resetFaults());

  const publish = (d: any, on = [dns.ns1, dns.ns2, dns.resolver]) => {
    const spf = d.records.find((r: any) => r.purpose === 'spf');
    const dkim = d.records.find((r: any) => r.purpose === 'dkim');
    dns.publish(spf.name, 'TXT', [spf.strings], on);
    dns.publish(dkim.name, 'TXT', [dkim.strings], on);
  };
  const unpublish = (d: any) => {
    for (const r of d.records) dns.unpublish(r.name, 'TXT');
  };
  const eventTypes = (id: string, expected: number) => settledEventTypes(c, id, expected);

  it('stays pending with per-nameserver detail while only ns1 has the records, then verifies', async () => {
    const d = await registerDomain(c.http, acct, 'prop.example.test', 'ed25519');
    publish(d, [dns.ns1, dns.resolver]);
    const partial = await domainWhen(c, acct, d.id, (x) => x.records[0].nameservers.length === 2);
    expect(partial.status).toBe('pending');
    expect(partial.records[0].nameservers.map((n: any) => n.status)).toEqual(['pass', 'fail']);
    expect(partial.records[1].nameservers.map((n: any) => n.status)).toEqual(['pass', 'fail']);
    expect(partial.verification.lastCheckedAt).not.toBeNull();

    publish(d, [dns.ns2]);
    const verified = await domainWhen(c, acct, d.id, (x) => x.status === 'verified');
    expect(verified.verification.verifiedAt).not.toBeNull();
    expect(verified.approval).toBe('approved');
    expect(verified.sending).toEqual({ allowed: true, reason: expect.any(String) });
    expect(await eventTypes(d.id, 1)).toEqual(['domain.verified']);

    const checks = await request(c.http).get(`/v1/domains/${d.id}/checks?limit=2`).set(acct.auth).expect(200);
    expect(checks.body.data[0]).toMatchObject({ verdict: expect.any(String), records: expect.any(Array) });
    await expectMatchesDocument(c.http, checks);
  });

  it('suspends only after a confirming failure, and reinstates when the records return, one event each', async () => {
    const d = await registerDomain(c.http, acct, 'susp.example.test', 'ed25519');
    publish(d);
    await domainWhen(c, acct, d.id, (x) => x.status === 'verified');
    unpublish(d);
    const suspended = await domainWhen(c, acct, d.id, (x) => x.status === 'suspended');
    expect(suspended.sending.allowed).toBe(false);
    const history = (await c.checks.listForDomain(acct.id, d.id, 100)).reverse();
    const firstFail = history.find((h) => h.verdict === 'fail')!;
    const suspendedAt = history.find((h) => h.statusAfter === 'suspended')!;
    // The first definitive failure did not suspend; the confirming one, CONFIRM_DELAY_MS later, did.
    expect(firstFail.statusAfter).toBe('verified');
    expect(suspendedAt.createdAt.getTime() - firstFail.createdAt.getTime()).toBeGreaterThanOrEqual(500);

    publish(d);
    await domainWhen(c, acct, d.id, (x) => x.status === 'verified');
    expect(await eventTypes(d.id, 3)).toEqual(['domain.verified', 'domain.suspended', 'domain.reinstated']);
  });

  it('never suspends on timeouts, SERVFAIL or a lame nameserver, and reports domain.check_degraded once', async () => {
    const d = await registerDomain(c.http, acct, 'flaky.example.test', 'ed25519');
    publish(d);
    await domainWhen(c, acct, d.id, (x) => x.status === 'verified');
    dns.ns1.faults = { servfail: true };
    dns.ns2.faults = { drop: true };
    // A clock window on purpose: the status must hold through 2.5 s of faults, longer than
    // CONFIRM_DELAY_MS and DEGRADED_AFTER_MS, so it is read every 100 ms until then.
    const until = Date.now() + 2500;
    const switchAt = Date.now() + 1200;
    while (Date.now() < until) {
      if (Date.now() > switchAt) {
        dns.ns1.faults = { noAuthoritative: true };
        dns.ns2.faults = { servfail: true };
      }
      const x = (await expectMatchesDocument(c.http, await request(c.http).get(`/v1/domains/${d.id}`).set(acct.auth))).body;
      expect(x.status).toBe('verified');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await eventTypes(d.id, 2)).toEqual(['domain.verified', 'domain.check_degraded']);
  });

  it('shows the merged SPF record to publish, the DMARC advice and the next check in the status', async () => {
    const d = await registerDomain(c.http, acct, 'existing.example.test', 'ed25519');
    dns.publish('existing.example.test', 'TXT', ['v=spf1 mx -all']);
    const x = await domainWhen(c, acct, d.id, (r) => r.verification.lastCheckedAt !== null);
    expect(x.records[0]).toMatchObject({ value: `v=spf1 mx include:${INCLUDE} -all`, status: 'fail', found: ['v=spf1 mx -all'] });
    expect(x.records[0].strings.join('')).toBe(x.records[0].value);
    expect(x.dmarc.advice).toMatch(/_dmarc\.existing\.example\.test/);
    expect(Date.parse(x.verification.nextCheckAt)).toBeGreaterThan(Date.parse(x.verification.lastCheckedAt));
  });

  it('answers verify with 202, and rate-limits it with 429 and Retry-After', async () => {
    const d = await registerDomain(c.http, acct, 'rl.example.test', 'ed25519');
    for (let i = 0; i < 5; i++) await expectMatchesDocument(c.http, await request(c.http).post(`/v1/domains/${d.id}/verify`).set(acct.auth).expect(202));
    const res = await request(c.http).post(`/v1/domains/${d.id}/verify`).set(acct.auth).expect(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    await expectMatchesDocument(c.http, res);
    const other = await createAccount(c.http, 'Other');
    await request(c.http).post(`/v1/domains/${d.id}/verify`).set(other.auth).expect(404);
    await expectMatchesDocument(c.http, await request(c.http).get(`/v1/domains/${d.id}/checks`).set(other.auth).expect(404));
  });

  it('never checks a deleted domain again', async () => {
    const d = await registerDomain(c.http, acct, 'deleted.example.test', 'ed25519');
    await request(c.http).delete(`/v1/domains/${d.id}`).set(acct.auth).expect(204);
    dns.ns1.log.length = 0;
    // A sleep on purpose: that no check happens can only be shown over a period, here
    // several sweeps (SWEEP_INTERVAL_MS 150) and rechecks (RECHECK_INTERVAL_MS 300).
    await new Promise((r) => setTimeout(r, 800));
    expect(dns.ns1.log.filter((q) => q.name.endsWith('deleted.example.test'))).toEqual([]);
  });
});

describe('the propagation window', () => {
  let dns: DnsFixture;
  let c: TestContainer;
  let workers: RunningWorkers;
  let acct: TestAccount;

  beforeAll(async () => {
    dns = await DnsFixture.start(['example.test']);
    c = await createTestContainer(
      { ...dns.env(), SPF_INCLUDE_DOMAIN: '_spf.example.test', PROPAGATION_SCHEDULE: '200ms', PROPAGATION_WINDOW_MS: '1200', SWEEP_INTERVAL_MS: '150' },
      { jitter: (ms) => ms },
    );
    workers = await c.start('worker', { workers: { dnsConcurrency: 2 } });
    acct = await createAccount(c.http);
  });
  afterAll(async () => {
    await workers.close();
    await c.dispose();
    await dns.close();
  });

  it('fails a domain whose records never appear, and verify opens a new window', async () => {
    const d = await registerDomain(c.http, acct, 'late.example.test', 'ed25519');
    const failed = await domainWhen(c, acct, d.id, (x) => x.status === 'failed');
    expect(failed.verification.nextCheckAt).toBeNull();
    expect(await settledEventTypes(c, d.id, 1)).toEqual(['domain.verification_failed']);

    // The owner publishes late; a failed domain is not checked until verify opens a new window.
    dns.publish('_spf.example.test', 'TXT', [['v=spf1 ip4:192.0.2.0/24 -all']]);
    dns.publish('late.example.test', 'TXT', [['v=spf1 include:_spf.example.test ~all']]);
    const dkim = d.records[1];
    dns.publish(dkim.name, 'TXT', [splitTxt(dkimValue('ed25519', dkim.value.split('p=')[1]))]);
    const res = await request(c.http).post(`/v1/domains/${d.id}/verify`).set(acct.auth).expect(202);
    expect(res.body.status).toBe('pending');
    expect(Date.parse(res.body.verification.deadlineAt)).toBeGreaterThan(Date.parse(failed.verification.deadlineAt));
    await expectMatchesDocument(c.http, res);
    await domainWhen(c, acct, d.id, (x) => x.status === 'verified');
  });
});
