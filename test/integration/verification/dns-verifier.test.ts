import { generateDkimKeyPair, type DkimKeyPair } from '../../../src/keys/dkim-keys';
import { dkimValue, splitTxt } from '../../../src/verification/records';
import type { VerificationTarget } from '../../../src/verification/dns-verifier';
import { DnsFixture } from '../../support/dns-fixture';
import { createTestContainer, type TestContainer } from '../../support/services';

const INCLUDE = '_spf.mw.test';

describe('DnsVerifier: per-nameserver SPF and DKIM verdicts', () => {
  let dns: DnsFixture;
  let c: TestContainer;
  let key: DkimKeyPair;
  let rsa4096: DkimKeyPair;

  beforeAll(async () => {
    dns = await DnsFixture.start(['example.test', 'other.test', 'mw.test']);
    c = await createTestContainer({ ...dns.env(), SPF_INCLUDE_DOMAIN: INCLUDE });
    key = await generateDkimKeyPair('ed25519');
    rsa4096 = await generateDkimKeyPair('rsa-4096');
    dns.publish(INCLUDE, 'TXT', ['v=spf1 ip4:192.0.2.0/24 -all']);
  });
  afterAll(async () => {
    await c.dispose();
    await dns.close();
  });
  afterEach(() => dns.resetFaults());

  const target = (domain: string, k: DkimKeyPair = key, selector = 'sel1'): VerificationTarget => ({
    domain,
    spfInclude: INCLUDE,
    selectors: [{ selector, keyType: k.keyType, publicKey: k.publicKey }],
  });
  const publishAll = (domain: string, k: DkimKeyPair = key, selector = 'sel1', on = [dns.ns1, dns.ns2, dns.resolver]) => {
    dns.publish(domain, 'TXT', [`v=spf1 include:${INCLUDE} ~all`], on);
    dns.publish(`${selector}._domainkey.${domain}`, 'TXT', [splitTxt(dkimValue(k.keyType, k.publicKey))], on);
  };
  const verify = (t: VerificationTarget) => c.dns.verifier.verify(t);

  it('passes when both nameservers serve both records, with a verdict per nameserver', async () => {
    publishAll('ok.example.test');
    const r = await verify(target('ok.example.test'));
    expect(r.verdict).toBe('pass');
    expect(r.zone).toBe('example.test');
    expect(r.records.map((x) => [x.purpose, x.status])).toEqual([
      ['spf', 'pass'],
      ['dkim', 'pass'],
    ]);
    for (const rec of r.records) {
      expect(rec.nameservers).toEqual([
        expect.objectContaining({ host: 'ns1.example.test', ip: '127.0.0.11', status: 'pass' }),
        expect.objectContaining({ host: 'ns2.example.test', ip: '127.0.0.12', status: 'pass' }),
      ]);
    }
    expect(r.records[0].found).toEqual([`v=spf1 include:${INCLUDE} ~all`]);
    // Authoritative servers were asked directly, with RD off.
    expect(dns.ns1.log.some((q) => q.name === 'sel1._domainkey.ok.example.test' && !q.rd)).toBe(true);
  });

  it('fails with per-nameserver detail while ns2 lags behind ns1', async () => {
    publishAll('lag.example.test', key, 'sel1', [dns.ns1]);
    const r = await verify(target('lag.example.test'));
    expect(r.verdict).toBe('fail');
    for (const rec of r.records) {
      expect(rec.status).toBe('fail');
      expect(rec.nameservers.map((n) => n.status)).toEqual(['pass', 'fail']);
      expect(rec.reason).toMatch(/ns2\.example\.test/);
    }
    publishAll('lag.example.test', key, 'sel1', [dns.ns2]);
    expect((await verify(target('lag.example.test'))).verdict).toBe('pass');
  });

  it.each([
    ['a timeout', { drop: true }],
    ['SERVFAIL', { servfail: true }],
    ['REFUSED', { refused: true }],
    ['a lame server', { noAuthoritative: true }],
  ])('never takes %s for a missing record: temperror when no nameserver answers', async (_label, faults) => {
    publishAll('fault.example.test');
    dns.ns1.faults = faults;
    dns.ns2.faults = faults;
    const r = await verify(target('fault.example.test'));
    expect(r.verdict).toBe('temperror');
    expect(r.records.every((x) => x.status === 'temperror')).toBe(true);
  });

  it('passes on the nameservers that answered when one times out', async () => {
    publishAll('half.example.test');
    dns.ns2.faults = { drop: true };
    const r = await verify(target('half.example.test'));
    expect(r.records.map((x) => x.status)).toEqual(['pass', 'pass']);
    expect(r.records[1].nameservers[1]).toMatchObject({ status: 'temperror', reason: expect.stringMatching(/timeout/) });
  });

  it('fails when one nameserver is lame and the other lacks the record', async () => {
    publishAll('mixed.example.test', key, 'sel1', [dns.resolver]);
    dns.ns1.faults = { noAuthoritative: true };
    const r = await verify(target('mixed.example.test'));
    expect(r.verdict).toBe('fail');
    expect(r.records[1].nameservers.map((n) => n.status)).toEqual(['temperror', 'fail']);
  });

  it('checks a domain whose zone cut is its parent', async () => {
    publishAll('mail.sub.example.test');
    const r = await verify(target('mail.sub.example.test'));
    expect(r.zone).toBe('example.test');
    expect(r.verdict).toBe('pass');
  });

  it('verifies a 4096-bit DKIM key published as several strings', async () => {
    publishAll('big.example.test', rsa4096, 'big');
    const r = await verify(target('big.example.test', rsa4096, 'big'));
    expect(r.records[1].status).toBe('pass');
    expect(r.records[1].found[0]).toBe(dkimValue('rsa', rsa4096.publicKey));
  });

  it('fails a wrong DKIM key and a revoked one with precise reasons', async () => {
    const other = await generateDkimKeyPair('ed25519');
    publishAll('wrong.example.test', other);
    let r = await verify(target('wrong.example.test'));
    expect(r.records[1].status).toBe('fail');
    expect(r.records[1].reason).toMatch(/key/i);
    dns.publish('sel1._domainkey.wrong.example.test', 'TXT', ['v=DKIM1; k=ed25519; p=']);
    r = await verify(target('wrong.example.test'));
    expect(r.records[1].reason).toMatch(/revoked/i);
  });

  it('follows SPF includes that live in other zones through the resolvers', async () => {
    dns.publish('chain.example.test', 'TXT', ['v=spf1 include:_spf.corp.other.test -all']);
    dns.publish('_spf.corp.other.test', 'TXT', [`v=spf1 ip4:198.51.100.0/24 include:${INCLUDE} -all`], [dns.resolver]);
    dns.publish('sel1._domainkey.chain.example.test', 'TXT', [dkimValue(key.keyType, key.publicKey)]);
    const r = await verify(target('chain.example.test'));
    expect(r.records[0].status).toBe('pass');
    expect(dns.resolver.log.some((q) => q.name === '_spf.corp.other.test' && q.rd)).toBe(true);
  });

  it('suggests merging our include into an existing SPF record instead of a second record', async () => {
    dns.publish('merge.example.test', 'TXT', ['v=spf1 mx -all', 'google-site-verification=abc']);
    const r = await verify(target('merge.example.test'));
    expect(r.records[0].status).toBe('fail');
    expect(r.records[0].suggested).toBe(`v=spf1 mx include:${INCLUDE} -all`);
  });

  it('never carries the terms of an SPF record with a syntax error into its suggestion', async () => {
    // Mid-change, one nameserver has our record, the other a hostile one: the owner is told to
    // publish ours, not a merge that keeps the hostile text and would be a permerror too.
    dns.publish('garbled.example.test', 'TXT', [`v=spf1 include:${INCLUDE} ~all`], [dns.ns1, dns.resolver]);
    dns.publish('garbled.example.test', 'TXT', ['v=spf1 mx <script>x</script> -all'], [dns.ns2]);
    const r = await verify(target('garbled.example.test'));
    expect(r.records[0].status).toBe('fail');
    expect(r.records[0].suggested).toBe(`v=spf1 include:${INCLUDE} ~all`);
    expect(r.records[0].warnings).toContain('an SPF record with a syntax error was found; the suggested record does not carry its terms over');
    expect(r.records[0].warnings.some((w) => /SPF records are published/.test(w))).toBe(false);
  });

  it('merges two well-formed SPF records on one nameserver into its suggestion, and says so', async () => {
    dns.publish('pair.example.test', 'TXT', ['v=spf1 mx -all', 'v=spf1 include:_spf.google.com ~all']);
    const r = await verify(target('pair.example.test'));
    expect(r.records[0].suggested).toBe(`v=spf1 mx include:_spf.google.com include:${INCLUDE} -all`);
    expect(r.records[0].warnings).toContain('2 SPF records are published; SPF allows exactly one: merge them into the suggested record');
  });

  it('fails two SPF records (permerror) with a reason', async () => {
    dns.publish('two.example.test', 'TXT', [`v=spf1 include:${INCLUDE} ~all`, 'v=spf1 -all']);
    const r = await verify(target('two.example.test'));
    expect(r.records[0].status).toBe('fail');
    expect(r.records[0].reason).toMatch(/one|multiple|two|permerror/i);
  });

  it('fails a domain that does not exist', async () => {
    const r = await verify(target('nothing-here.example.test'));
    expect(r.verdict).toBe('fail');
  });

  it('reports DMARC as advice only', async () => {
    publishAll('dmarc.example.test');
    dns.publish('_dmarc.dmarc.example.test', 'TXT', ['v=DMARC1; p=none; rua=mailto:d@dmarc.example.test']);
    const r = await verify(target('dmarc.example.test'));
    expect(r.verdict).toBe('pass');
    expect(r.dmarc.found).toBe('v=DMARC1; p=none; rua=mailto:d@dmarc.example.test');
    expect(r.dmarc.advice).toEqual(expect.any(String));
    const none = await verify(target('ok.example.test'));
    expect(none.dmarc.found).toBeNull();
    expect(none.verdict).toBe('pass');
  });

  it('is a temperror when the nameservers cannot be found', async () => {
    dns.resolver.faults = { servfail: true };
    const r = await verify(target('ok.example.test'));
    expect(r.verdict).toBe('temperror');
    expect(r.records[0].reason).toMatch(/nameservers/);
  });
});

describe('DnsVerifier with OUTBOUND_IPS', () => {
  let dns: DnsFixture;
  let c: TestContainer;

  beforeAll(async () => {
    dns = await DnsFixture.start(['example.test']);
    c = await createTestContainer({ ...dns.env(), SPF_INCLUDE_DOMAIN: INCLUDE, OUTBOUND_IPS: '192.0.2.10,2001:db8::10' });
  });
  afterAll(async () => {
    await c.dispose();
    await dns.close();
  });

  it.each([
    ['v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all', 'pass'],
    ['v=spf1 ip4:192.0.2.0/24 -all', 'fail'],
    ['v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 ~all', 'pass'],
    ['v=spf1 ?all', 'fail'],
  ])('evaluates %s for every outbound IP: %s', async (record, verdict) => {
    dns.publish('ips.example.test', 'TXT', [record]);
    const r = await c.dns.verifier.verify({ domain: 'ips.example.test', spfInclude: INCLUDE, selectors: [] });
    expect(r.records[0].status).toBe(verdict);
  });
});
