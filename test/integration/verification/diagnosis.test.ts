import request from 'supertest';
import { AuthoritativeResolver } from '../../../src/dns/authoritative-resolver';
import { RecursiveResolver } from '../../../src/dns/recursive-resolver';
import { diagnoseRecord } from '../../../src/verification/diagnosis-lookups';
import { DnsFixture } from '../../support/dns-fixture';
import { createAccount, registerDomain, type TestAccount } from '../../support/factories';
import { expectMatchesDocument } from '../../support/openapi';
import { createTestContainer, type TestContainer } from '../../support/services';

const INCLUDE = '_spf.mw.test';
const OURS = `v=spf1 include:${INCLUDE} ~all`;
const APEX_ZONES = ['doubled.test', 'apexkey.test', 'cname.test', 'quoted.test', 'split.test', 'nov.test', 'nok.test', 'twospf.test', 'limit.test'];
const MOVE = (from: string, to: string, zone: string, record = 'DKIM TXT') =>
  `Move the ${record} record from host "${from}" to host "${to}" (in the zone ${zone}; the provider appends the zone itself).`;

describe('diagnosis of misplaced records, end to end: the test DNS server, a check, the domain resource', () => {
  let dns: DnsFixture;
  let c: TestContainer;
  let acct: TestAccount;

  beforeAll(async () => {
    dns = await DnsFixture.start(['example.test', 'deleg.example.test', 'mw.test', ...APEX_ZONES]);
    dns.publish(INCLUDE, 'TXT', ['v=spf1 ip4:192.0.2.0/24 -all']);
    c = await createTestContainer({ ...dns.env(), SPF_INCLUDE_DOMAIN: INCLUDE });
    acct = await createAccount(c.http);
  });
  afterAll(async () => {
    await c.dispose();
    await dns.close();
  });

  const getDomain = async (id: string) =>
    (await expectMatchesDocument(c.http, await request(c.http).get(`/v1/domains/${id}`).set(acct.auth).expect(200))).body;

  /**
   * Registers `domain`, publishes its records as `publish` says (the correct ones by default),
   * runs one check and returns the resource with its SPF and DKIM records.
   */
  async function checked(domain: string, publish: { spf?: (r: any) => void; dkim?: (r: any) => void }) {
    const registered = await registerDomain(c.http, acct, domain, 'ed25519');
    const [spf, dkim] = registered.records;
    (publish.spf ?? ((r: any) => dns.publish(r.name, 'TXT', [r.strings])))(spf);
    (publish.dkim ?? ((r: any) => dns.publish(r.name, 'TXT', [r.strings])))(dkim);
    expect(await c.lifecycle.check(registered.id, 'verify')).toBe('checked');
    const d = await getDomain(registered.id);
    return { id: d.id as string, spf: d.records[0], dkim: d.records[1] };
  }

  it('gives every record its host label, relative to the zone the check found', async () => {
    const registered = await registerDomain(c.http, acct, 'mail.example.test', 'ed25519');
    const sel = registered.records[1].selector;
    // Before the first check the zone is the registrable domain.
    expect(registered.records.map((r: any) => r.host)).toEqual(['mail', `${sel}._domainkey.mail`]);
    for (const r of registered.records) dns.publish(r.name, 'TXT', [r.strings]);
    for (const s of [dns.ns1, dns.ns2]) s.log.length = 0;
    await c.lifecycle.check(registered.id, 'verify');
    // A passing check asks nothing beyond the records themselves.
    expect([...dns.ns1.log, ...dns.ns2.log].filter((q) => q.type === 'CNAME' || q.name.endsWith('.example.test.example.test'))).toEqual([]);
    const d = await getDomain(registered.id);
    expect(d.records.map((r: any) => [r.host, r.status, r.hint])).toEqual([
      ['mail', 'pass', null],
      [`${sel}._domainkey.mail`, 'pass', null],
    ]);

    // A subdomain delegated as its own zone: its host labels are relative to that zone once a check has found it.
    const own = await registerDomain(c.http, acct, 'deleg.example.test', 'ed25519');
    expect(own.records[0].host).toBe('deleg');
    await c.lifecycle.check(own.id, 'verify');
    const after = await getDomain(own.id);
    expect(after.records.map((r: any) => r.host)).toEqual(['@', `${own.records[1].selector}._domainkey`]);
  });

  it('the zone doubled', async () => {
    for (const s of [dns.ns1, dns.ns2]) s.log.length = 0;
    const { dkim } = await checked('doubled.test', { dkim: (r) => dns.publish(`${r.name}.doubled.test`, 'TXT', [r.strings]) });
    expect(dkim.status).toBe('fail');
    // The diagnosis asked a handful of questions, of a nameserver where the check failed.
    const extra = [...dns.ns1.log, ...dns.ns2.log].filter((q) => q.type === 'CNAME' || q.name.endsWith('.doubled.test.doubled.test'));
    expect(extra.length).toBeGreaterThan(0);
    expect(extra.length).toBeLessThanOrEqual(4);
    expect(dkim.hint).toBe(MOVE(`${dkim.selector}._domainkey.doubled.test`, `${dkim.selector}._domainkey`, 'doubled.test'));
    expect(dkim.reason).toMatch(new RegExp(`^the DKIM record is published at ${dkim.name}\\.doubled\\.test: the zone was typed into the host`));
  });

  it('DKIM published at the apex instead of the selector name', async () => {
    const { dkim } = await checked('apexkey.test', { dkim: (r) => dns.publish('apexkey.test', 'TXT', [OURS, r.strings]), spf: () => {} });
    expect(dkim.hint).toBe(MOVE('@', `${dkim.selector}._domainkey`, 'apexkey.test'));
    expect(dkim.reason).toMatch(/^the DKIM record is published at apexkey\.test \(the apex\)/);
  });

  it('DKIM of a domain below its zone, typed relative to the domain', async () => {
    const { dkim, spf } = await checked('news.example.test', {
      dkim: (r) => dns.publish(`${r.selector}._domainkey.example.test`, 'TXT', [r.strings]),
    });
    expect(spf.hint).toBeNull();
    expect(dkim.host).toBe(`${dkim.selector}._domainkey.news`);
    expect(dkim.hint).toBe(MOVE(`${dkim.selector}._domainkey`, `${dkim.selector}._domainkey.news`, 'example.test'));
    expect(dkim.reason).toMatch(/left out the part of news\.example\.test below the zone example\.test/);
  });

  it('a CNAME where the TXT belongs', async () => {
    const { dkim } = await checked('cname.test', { dkim: (r) => dns.publish(r.name, 'CNAME', ['s1.dkim.old.mw.test']) });
    expect(dkim.hint).toBe(`Delete the CNAME at host "${dkim.host}" and add a TXT record at host "${dkim.host}" with the value shown.`);
    expect(dkim.reason).toMatch(new RegExp(`^a CNAME \\(to s1\\.dkim\\.old\\.mw\\.test\\) is published at ${dkim.name} where the TXT record belongs`));
  });

  it('the value quoted twice', async () => {
    const { dkim } = await checked('quoted.test', { dkim: (r) => dns.publish(r.name, 'TXT', [`"${r.value}"`]) });
    expect(dkim.hint).toBe(`Enter the value at host "${dkim.host}" without any quote characters: the DNS provider adds them itself.`);
    expect(dkim.reason).toMatch(/^the DKIM value is quoted twice/);
  });

  it('split at a wrong place: a space inserted between the strings', async () => {
    const { dkim } = await checked('split.test', {
      dkim: (r) => dns.publish(r.name, 'TXT', [['v=DKIM1; k=ed', ` 25519; p=${r.value.split('p=')[1]}`]]),
    });
    expect(dkim.hint).toBe(`Enter the value at host "${dkim.host}" with nothing between the strings (or paste the whole value and let the provider split it).`);
    expect(dkim.reason).toMatch(/^the DKIM value was split at a wrong place: a space was inserted between its strings \("=DKIM1; k=ed 25519; p=/);
  });

  it('missing v=DKIM1;', async () => {
    const { dkim } = await checked('nov.test', { dkim: (r) => dns.publish(r.name, 'TXT', [r.value.replace('v=DKIM1; ', 'DKIM1; ')]) });
    expect(dkim.hint).toBe(`Start the value at host "${dkim.host}" with "v=DKIM1;" (tag, equals sign, DKIM1, semicolon), then the rest as shown.`);
  });

  it('missing k=ed25519', async () => {
    const { dkim } = await checked('nok.test', { dkim: (r) => dns.publish(r.name, 'TXT', [r.value.replace('k=ed25519; ', '')]) });
    expect(dkim.hint).toBe(`Add "k=ed25519;" after "v=DKIM1;" in the value at host "${dkim.host}".`);
    expect(dkim.reason).toMatch(/^the DKIM value has no "k=", which means rsa, but the key is ed25519/);
  });

  it('a second SPF record beside the first: the hint and the value show the merged record', async () => {
    const { spf, dkim } = await checked('twospf.test', { spf: (r) => dns.publish(r.name, 'TXT', ['v=spf1 mx -all', OURS]) });
    expect(dkim.hint).toBeNull();
    expect(spf.status).toBe('fail');
    const merged = `v=spf1 mx include:${INCLUDE} -all`;
    expect(spf.hint).toBe(`Publish one SPF record at host "@" and delete the other: ${merged}`);
    expect(spf.value).toBe(merged);
    expect(spf.reason).toMatch(/^2 SPF records are published; receivers return permerror unless there is exactly one/);
  });

  it('an SPF record over the 10-lookup limit once our include is in it', async () => {
    const big = Array.from({ length: 6 }, (_, i) => `b${i}.mw.test`);
    for (const [i, name] of [...big, 's0.mw.test'].entries()) dns.publish(name, 'TXT', [`v=spf1 ip4:198.51.100.${i} -all`]);
    dns.publish('big.mw.test', 'TXT', [`v=spf1 ${big.map((b) => `include:${b}`).join(' ')} ~all`]);
    dns.publish('small.mw.test', 'TXT', ['v=spf1 include:s0.mw.test ~all']);
    const { id, spf } = await checked('limit.test', {
      spf: (r) => dns.publish(r.name, 'TXT', [`v=spf1 include:big.mw.test include:small.mw.test mx include:${INCLUDE} ~all`]),
    });
    expect(spf.status).toBe('fail');
    expect(spf.hint).toBe(
      'In the SPF record at host "@", flatten (replace with the ip4:/ip6: ranges they name) or drop include:big.mw.test (7 lookups), to stay within 10 lookups.',
    );
    expect(spf.reason).toMatch(/^with include:_spf\.mw\.test the SPF record needs 11 DNS lookups/);

    // The check history keeps the hint beside the verdict.
    const checks = await expectMatchesDocument(c.http, await request(c.http).get(`/v1/domains/${id}/checks?limit=1`).set(acct.auth).expect(200));
    expect(checks.body.data[0].records[0].hint).toBe(spf.hint);
  });

  it('a CNAME at a name that also needs MX and TXT, asked of an authoritative nameserver', async () => {
    dns.publish('bounce.cname.test', 'CNAME', ['cname.test']);
    const outside = new RecursiveResolver(c.dns.client, [{ host: '127.0.0.1', port: dns.resolver.port }]);
    const resolver = new AuthoritativeResolver(c.dns.client, { host: '127.0.0.11', port: dns.authPort }, 'cname.test', outside);
    const d = await diagnoseRecord(resolver, {
      name: 'bounce.cname.test',
      domain: 'cname.test',
      zone: 'cname.test',
      value: { kind: 'mx', exchange: 'mx.mw.test' },
      alongside: ['TXT'],
    });
    expect(d).toEqual({
      code: 'cname_beside_records',
      reason: 'a CNAME (to cname.test) is published at bounce.cname.test, which also needs MX and TXT records; a CNAME cannot share its name with any other record',
      hint: 'Delete the CNAME at host "bounce", then add the MX and TXT records at host "bounce".',
    });
  });
});
