import { DnsFixture } from '../../support/dns-fixture';
import { createAccount, registerDomain, type TestAccount } from '../../support/factories';
import { createTestContainer, type TestContainer } from '../../support/services';

const INCLUDE = '_spf.mw.test';

describe('a pass that would verify a domain is confirmed over TCP', () => {
  let dns: DnsFixture;
  let c: TestContainer;
  let acct: TestAccount;

  beforeAll(async () => {
    dns = await DnsFixture.withInclude(INCLUDE);
    c = await createTestContainer({ ...dns.env(), SPF_INCLUDE_DOMAIN: INCLUDE, CONFIRM_DELAY_MS: '0', APPROVAL_MODE: 'auto' });
    acct = await createAccount(c.http);
  });
  afterAll(async () => {
    await c.dispose();
    await dns.close();
  });
  beforeEach(() => {
    dns.resetFaults();
    for (const s of [dns.ns1, dns.ns2]) s.log.length = 0;
  });

  const publish = (d: any) => {
    for (const r of d.records) dns.publish(r.name, 'TXT', [r.strings]);
  };
  const statusOf = async (id: string) => (await c.stores.domains.findById(id))!.status;
  const targetOf = async (id: string) => {
    const d = (await c.stores.domains.findById(id))!;
    return { domain: d.domain, spfInclude: d.spfInclude, selectors: d.dkim };
  };
  const transports = () => [...dns.ns1.log, ...dns.ns2.log].map((q) => q.transport);

  it('asks every authoritative nameserver over TCP only when the verifier is told to', async () => {
    const d = await registerDomain(c.http, acct, 'tcp.example.test', 'ed25519');
    publish(d);
    const r = await c.dns.verifier.verify(await targetOf(d.id), { transport: 'tcp' });
    expect(r.verdict).toBe('pass');
    expect(dns.ns1.log.length).toBeGreaterThan(0);
    expect(dns.ns2.log.length).toBeGreaterThan(0);
    expect(new Set(transports())).toEqual(new Set(['tcp']));
  });

  it('keeps a domain pending when UDP answers pass but TCP answers lack the record', async () => {
    const d = await registerDomain(c.http, acct, 'udp-only.example.test', 'ed25519');
    publish(d);
    dns.ns1.faults = { hideOverTcp: true };
    // Over UDP alone, everything passes.
    expect((await c.dns.verifier.verify(await targetOf(d.id))).verdict).toBe('pass');

    expect(await c.lifecycle.check(d.id, 'verify')).toBe('checked');
    expect(await statusOf(d.id)).toBe('pending');
    const [check] = await c.checks.listForDomain(acct.id, d.id, 1);
    expect(check.verdict).toBe('fail');
    expect(check.statusAfter).toBe('pending');
    for (const rec of check.records) {
      expect(rec.nameservers.map((n) => [n.host, n.status])).toEqual([
        ['ns1.example.test', 'fail'],
        ['ns2.example.test', 'pass'],
      ]);
    }
    expect(transports()).toContain('tcp');
    expect(await c.events.listForDomain(d.id)).toEqual([]);

    dns.resetFaults();
    expect(await c.lifecycle.check(d.id, 'verify')).toBe('checked');
    expect(await statusOf(d.id)).toBe('verified');
  });

  it('keeps a suspended domain suspended until TCP confirms the pass', async () => {
    const d = await registerDomain(c.http, acct, 'back.example.test', 'ed25519');
    publish(d);
    await c.lifecycle.check(d.id, 'verify');
    expect(await statusOf(d.id)).toBe('verified');
    for (const r of d.records) dns.unpublish(r.name, 'TXT');
    await c.lifecycle.check(d.id, 'scheduled');
    await c.lifecycle.check(d.id, 'scheduled');
    expect(await statusOf(d.id)).toBe('suspended');

    publish(d);
    dns.ns2.faults = { hideOverTcp: true };
    await c.lifecycle.check(d.id, 'scheduled');
    expect(await statusOf(d.id)).toBe('suspended');
    dns.resetFaults();
    await c.lifecycle.check(d.id, 'scheduled');
    expect(await statusOf(d.id)).toBe('verified');
  });

  it('asks no TCP confirmation for a pass that changes nothing', async () => {
    const d = await registerDomain(c.http, acct, 'steady.example.test', 'ed25519');
    publish(d);
    await c.lifecycle.check(d.id, 'verify');
    expect(await statusOf(d.id)).toBe('verified');
    for (const s of [dns.ns1, dns.ns2]) s.log.length = 0;
    await c.lifecycle.check(d.id, 'scheduled');
    expect(await statusOf(d.id)).toBe('verified');
    expect(transports().length).toBeGreaterThan(0);
    expect(transports()).not.toContain('tcp');
  });
});
