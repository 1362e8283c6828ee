import { DnsClient } from '../../../src/dns/dns-client';
import { TestDnsServer } from '../../support/dns-server';

describe('DnsClient against the test DNS server (UDP and TCP)', () => {
  let ns: TestDnsServer;
  let client: DnsClient;
  const auth = { recursionDesired: false, expectAuthoritative: true };

  beforeAll(async () => {
    ns = await TestDnsServer.start({ zones: ['example.test'] });
    client = new DnsClient({ timeoutMs: 300, retries: 1 });
  });
  afterAll(async () => {
    client.close();
    await ns.close();
  });
  beforeEach(() => {
    ns.faults = {};
    ns.log.length = 0;
  });

  it('returns TXT answers, with EDNS0 and RD off', async () => {
    ns.txt('example.test', 'v=spf1 -all');
    const out = await client.query('Example.Test.', 'TXT', ns.address, auth);
    expect(out.kind).toBe('answer');
    if (out.kind === 'answer') expect((out.records[0] as { data: Buffer[] }).data.map(String)).toEqual(['v=spf1 -all']);
    expect(ns.log).toEqual([{ name: 'example.test', type: 'TXT', rd: false, transport: 'udp' }]);
  });

  it('tells nxdomain from nodata', async () => {
    ns.txt('a.example.test', 'x');
    expect((await client.query('missing.example.test', 'TXT', ns.address, auth)).kind).toBe('nxdomain');
    expect((await client.query('a.example.test', 'MX', ns.address, auth)).kind).toBe('nodata');
  });

  it.each([
    [{ drop: true }, 'timeout'],
    [{ servfail: true }, 'servfail'],
    [{ refused: true }, 'refused'],
    [{ noAuthoritative: true }, 'lame'],
  ])('reports the fault %j as %s', async (faults, kind) => {
    ns.txt('example.test', 'v=spf1 -all');
    ns.faults = faults;
    expect((await client.query('example.test', 'TXT', ns.address, auth)).kind).toBe(kind);
  });

  it('retries a dropped query up to its bound', async () => {
    ns.faults = { drop: true };
    await client.query('example.test', 'TXT', ns.address, auth);
    expect(ns.log.filter((q) => q.transport === 'udp')).toHaveLength(2);
  });

  it('answers through a delay shorter than the timeout', async () => {
    ns.txt('example.test', 'v=spf1 -all');
    ns.faults = { delayMs: 100 };
    expect((await client.query('example.test', 'TXT', ns.address, auth)).kind).toBe('answer');
  });

  it('refuses a zone the server does not serve', async () => {
    expect((await client.query('other.test', 'TXT', ns.address, auth)).kind).toBe('refused');
  });

  it('falls back to TCP when the UDP answer is truncated', async () => {
    ns.txt('tc.example.test', 'v=spf1 ip4:192.0.2.1 -all');
    ns.faults = { truncate: true };
    const out = await client.query('tc.example.test', 'TXT', ns.address, auth);
    expect(out.kind).toBe('answer');
    expect(ns.log.map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('fetches a 4096-bit DKIM record (over 512 bytes) in one piece', async () => {
    const p = 'M'.repeat(736);
    const strings = [`v=DKIM1; k=rsa; p=${p}`.slice(0, 255), `v=DKIM1; k=rsa; p=${p}`.slice(255, 510), `v=DKIM1; k=rsa; p=${p}`.slice(510)];
    ns.txt('sel._domainkey.example.test', strings);
    const out = await client.query('sel._domainkey.example.test', 'TXT', ns.address, auth);
    expect(out.kind).toBe('answer');
    if (out.kind === 'answer') expect((out.records[0] as { data: Buffer[] }).data.map(String).join('')).toBe(`v=DKIM1; k=rsa; p=${p}`);
  });

  it('truncates an answer larger than the EDNS buffer and still gets it over TCP', async () => {
    const many = Array.from({ length: 8 }, (_, i) => `${i}`.repeat(250));
    ns.set('big.example.test', 'TXT', many);
    const out = await client.query('big.example.test', 'TXT', ns.address, auth);
    expect(out.kind).toBe('answer');
    if (out.kind === 'answer') expect(out.records).toHaveLength(8);
    expect(ns.log.map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('reports a closed port as a timeout or network error, never as a missing record', async () => {
    const out = await client.query('example.test', 'TXT', { host: '127.0.0.1', port: 9 }, auth);
    expect(['timeout', 'network-error']).toContain(out.kind);
  });

  it('keeps many concurrent queries apart by id and question', async () => {
    for (let i = 0; i < 50; i++) ns.txt(`n${i}.example.test`, `value-${i}`);
    const outs = await Promise.all(Array.from({ length: 50 }, (_, i) => client.query(`n${i}.example.test`, 'TXT', ns.address, auth)));
    outs.forEach((o, i) => {
      expect(o.kind).toBe('answer');
      if (o.kind === 'answer') expect(String((o.records[0] as { data: Buffer[] }).data[0])).toBe(`value-${i}`);
    });
  });
});
