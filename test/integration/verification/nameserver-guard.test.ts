import { generateDkimKeyPair, type DkimKeyPair } from '../../../src/keys/dkim-keys';
import { dkimValue, splitTxt } from '../../../src/verification/records';
import type { VerificationTarget } from '../../../src/verification/dns-verifier';
import { startNameservers } from '../../support/dns-fixture';
import { TestDnsServer } from '../../support/dns-server';
import { createTestContainer, type TestContainer } from '../../support/services';

const INCLUDE = '_spf.mw.test';
// Twelve live nameservers on one port: .11 and .12 for two-server zones, .21-.30 for a zone with ten.
const LIVE = ['127.0.0.11', '127.0.0.12', ...Array.from({ length: 10 }, (_, i) => `127.0.0.${21 + i}`)];
// Addresses that must never be queried; nothing listens there.
const HOSTILE: Array<[string, 'A' | 'AAAA', string, RegExp]> = [
  ['rfc1918', 'A', '10.0.0.1', /^nameserver address 10\.0\.0\.1 is private; not queried$/],
  ['cgnat', 'A', '100.64.0.1', /carrier-grade NAT/],
  ['linklocal', 'A', '169.254.169.254', /link-local/],
  ['multicast', 'A', '224.0.0.251', /multicast/],
  ['unspecified', 'A', '0.0.0.0', /unspecified/],
  ['ula', 'AAAA', 'fd00::53', /unique local/],
  ['mapped', 'AAAA', '::ffff:127.0.0.11', /IPv4-mapped loopback/],
  ['compat', 'AAAA', '::7f00:b', /IPv4-compatible .*127\.0\.0\.11/],
  ['sixtofour', 'AAAA', '2002:7f00:b::1', /6to4.*127\.0\.0\.11/],
];

describe('which nameserver addresses a check queries', () => {
  let resolver: TestDnsServer;
  let servers: TestDnsServer[];
  let open: TestContainer;
  let guarded: TestContainer;
  let key: DkimKeyPair;

  const zones = ['ok.test', 'hostile.test', 'many.test', 'mw.test'];
  const target = (domain: string): VerificationTarget => ({
    domain,
    spfInclude: INCLUDE,
    selectors: [{ selector: 'sel1', keyType: key.keyType, publicKey: key.publicKey }],
  });
  const publish = (domain: string, on: TestDnsServer[]) => {
    for (const s of [...on, resolver]) {
      s.txt(domain, `v=spf1 include:${INCLUDE} ~all`);
      s.txt(`sel1._domainkey.${domain}`, splitTxt(dkimValue(key.keyType, key.publicKey)));
    }
  };
  const queried = (s: TestDnsServer) => s.log.length > 0;

  beforeAll(async () => {
    key = await generateDkimKeyPair('ed25519');
    resolver = await TestDnsServer.start({ host: '127.0.0.1', mode: 'resolver', zones });
    servers = await startNameservers(LIVE, zones);
    resolver.txt(INCLUDE, 'v=spf1 ip4:192.0.2.0/24 -all');
    // ok.test: the usual two nameservers on loopback.
    resolver.set('ok.test', 'NS', ['ns1.ok.test', 'ns2.ok.test']);
    resolver.set('ns1.ok.test', 'A', ['127.0.0.11']);
    resolver.set('ns2.ok.test', 'A', ['127.0.0.12']);
    publish('ok.test', servers.slice(0, 2));
    // hostile.test: one nameserver host per non-public range, plus 127.0.0.11 itself.
    resolver.set('hostile.test', 'NS', ['ns-live.hostile.test', ...HOSTILE.map(([label]) => `ns-${label}.hostile.test`)]);
    resolver.set('ns-live.hostile.test', 'A', ['127.0.0.11']);
    for (const [label, type, ip] of HOSTILE) resolver.set(`ns-${label}.hostile.test`, type, [ip]);
    publish('hostile.test', servers.slice(0, 1));
    // many.test: ten nameserver addresses, one host each.
    const many = servers.slice(2);
    resolver.set('many.test', 'NS', many.map((_, i) => `ns${i + 1}.many.test`));
    many.forEach((s, i) => resolver.set(`ns${i + 1}.many.test`, 'A', [s.host]));
    publish('many.test', many);

    const env = { DNS_RESOLVERS: `127.0.0.1:${resolver.port}`, DNS_AUTH_PORT: String(servers[0].port), DNS_TIMEOUT_MS: '300', SPF_INCLUDE_DOMAIN: INCLUDE };
    open = await createTestContainer({ ...env, DNS_ALLOW_PRIVATE: 'true' });
    guarded = await createTestContainer({ ...env, DNS_ALLOW_PRIVATE: 'false' });
  });
  afterAll(async () => {
    await open?.dispose();
    await guarded?.dispose();
    await Promise.all([resolver, ...servers].map((s) => s?.close()));
  });
  beforeEach(() => {
    for (const s of servers) s.log.length = 0;
  });

  it('queries nameservers on private addresses with DNS_ALLOW_PRIVATE=true', async () => {
    const r = await open.dns.verifier.verify(target('ok.test'));
    expect(r.verdict).toBe('pass');
    expect(servers.slice(0, 2).every(queried)).toBe(true);
  });

  it('never queries a loopback nameserver by default, and says why for each one', async () => {
    const r = await guarded.dns.verifier.verify(target('ok.test'));
    expect(r.verdict).toBe('temperror');
    for (const rec of r.records) {
      expect(rec.status).toBe('temperror');
      expect(rec.nameservers).toEqual([
        { host: 'ns1.ok.test', ip: '127.0.0.11', status: 'temperror', found: [], reason: 'nameserver address 127.0.0.11 is loopback; not queried' },
        { host: 'ns2.ok.test', ip: '127.0.0.12', status: 'temperror', found: [], reason: 'nameserver address 127.0.0.12 is loopback; not queried' },
      ]);
    }
    expect(servers.some(queried)).toBe(false);
  });

  it('refuses every non-public range, including IPv6 forms that wrap a private IPv4 address', async () => {
    const r = await guarded.dns.verifier.verify(target('hostile.test'));
    expect(r.verdict).toBe('temperror');
    for (const rec of r.records) {
      const byHost = new Map(rec.nameservers.map((n) => [n.host, n]));
      expect(byHost.get('ns-live.hostile.test')).toMatchObject({ status: 'temperror', reason: 'nameserver address 127.0.0.11 is loopback; not queried' });
      for (const [label, , , reason] of HOSTILE) {
        expect(byHost.get(`ns-${label}.hostile.test`)).toMatchObject({ status: 'temperror', reason: expect.stringMatching(reason) });
      }
      expect(rec.nameservers.every((n) => /not queried$/.test(n.reason ?? ''))).toBe(true);
    }
    // ::ffff:127.0.0.11, ::7f00:b and 2002:7f00:b:: all lead to 127.0.0.11, which heard nothing.
    expect(servers.some(queried)).toBe(false);
  });

  it('queries at most 8 nameserver addresses of a zone and reports the rest as not queried', async () => {
    const r = await open.dns.verifier.verify(target('many.test'));
    expect(r.verdict).toBe('pass');
    const many = servers.slice(2);
    expect(many.map(queried)).toEqual([true, true, true, true, true, true, true, true, false, false]);
    for (const rec of r.records) {
      expect(rec.status).toBe('pass');
      expect(rec.nameservers.map((n) => n.status)).toEqual([...Array(8).fill('pass'), 'temperror', 'temperror']);
      expect(rec.nameservers.slice(8).map((n) => n.reason)).toEqual([
        'nameserver address 127.0.0.29 not queried: at most 8 addresses per zone are queried',
        'nameserver address 127.0.0.30 not queried: at most 8 addresses per zone are queried',
      ]);
    }
  });
});
