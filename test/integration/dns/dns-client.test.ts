import { readFileSync } from 'node:fs';
import { DnsClient } from '../../../src/dns/dns-client';
import { TestDnsServer } from '../../support/dns-server';

/** Local ports of every UDP socket open on this machine, from the kernel's table. */
function boundUdpPorts(): number[] {
  return ['/proc/net/udp', '/proc/net/udp6'].flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => /^\s*\d+:\s+[0-9A-F]+:([0-9A-F]{4})\s/.exec(line)?.[1])
      .filter((p): p is string => Boolean(p))
      .map((p) => parseInt(p, 16)),
  );
}

const txtOf = (out: Awaited<ReturnType<DnsClient['query']>>) =>
  out.kind === 'answer' ? out.records.map((r) => (r as { data: Buffer[] }).data.map(String).join('')) : [];

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
    ns.wire.length = 0;
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
    // A patient client: on a loaded machine a 300 ms timeout would add a UDP retry, which is not what this test is about.
    const patient = new DnsClient({ timeoutMs: 10_000, retries: 1 });
    try {
      const out = await patient.query('tc.example.test', 'TXT', ns.address, auth);
      expect(out.kind).toBe('answer');
      expect(ns.log.map((q) => q.transport)).toEqual(['udp', 'tcp']);
    } finally {
      patient.close();
    }
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

  it('asks each UDP query from a socket of its own on a fresh random source port, closed afterwards', async () => {
    ns.txt('example.test', 'v=spf1 -all');
    for (let i = 0; i < 20; i++) expect((await client.query('example.test', 'TXT', ns.address, auth)).kind).toBe('answer');
    const ports = ns.wire.filter((q) => q.transport === 'udp').map((q) => q.port);
    expect(ports).toHaveLength(20);
    // A pool of shared sockets shows a handful of ports; the kernel picks each ephemeral port at random.
    expect(new Set(ports).size).toBeGreaterThan(10);
    // Not one of those sockets is still open.
    expect(boundUdpPorts().filter((p) => ports.includes(p))).toEqual([]);
  });

  it('randomises the case of the question name (0x20), which the server echoes', async () => {
    ns.txt('abcdefghijklmnop.example.test', 'x');
    for (let i = 0; i < 10; i++) {
      expect(txtOf(await client.query('abcdefghijklmnop.example.test', 'TXT', ns.address, auth))).toEqual(['x']);
    }
    const names = ns.wire.map((q) => q.name);
    expect(names.every((n) => n.toLowerCase() === 'abcdefghijklmnop.example.test')).toBe(true);
    expect(new Set(names).size).toBeGreaterThan(5);
  });

  it('ignores a forged answer whose question has the wrong case, as it ignores a wrong id, and takes the real one', async () => {
    ns.txt('spoof.example.test', 'real');
    ns.faults = { forgeWrongCase: true };
    for (let i = 0; i < 5; i++) expect(txtOf(await client.query('spoof.example.test', 'TXT', ns.address, auth))).toEqual(['real']);
  });

  it('asks over TCP only when the transport is tcp, with the 0x20 name echoed there too', async () => {
    ns.txt('abcdefghijklmnop.example.test', 'x');
    ns.faults = { hideOverTcp: true };
    expect((await client.query('abcdefghijklmnop.example.test', 'TXT', ns.address, auth)).kind).toBe('answer');
    expect((await client.query('abcdefghijklmnop.example.test', 'TXT', ns.address, { ...auth, transport: 'tcp' })).kind).toBe('nodata');
    ns.faults = {};
    const out = await client.query('abcdefghijklmnop.example.test', 'TXT', ns.address, { ...auth, transport: 'tcp' });
    expect(txtOf(out)).toEqual(['x']);
    expect(ns.log.map((q) => q.transport)).toEqual(['udp', 'tcp', 'tcp']);
    expect(ns.wire[2].name.toLowerCase()).toBe('abcdefghijklmnop.example.test');
  });

  it('ends the queries in flight as timeouts when closed, and asks nothing after', async () => {
    const own = new DnsClient({ timeoutMs: 60_000, retries: 0 });
    ns.faults = { drop: true };
    const pending = [own.query('example.test', 'TXT', ns.address, auth), own.query('example.test', 'TXT', ns.address, { ...auth, transport: 'tcp' })];
    await waitFor(() => ns.log.length === 2);
    own.close();
    expect((await Promise.all(pending)).map((o) => o.kind)).toEqual(['timeout', 'timeout']);
    expect((await own.query('example.test', 'TXT', ns.address, auth)).kind).toBe('network-error');
  });
});

/** Waits until `cond` holds (polling), failing after a generous bound. */
async function waitFor(cond: () => boolean, boundMs = 5000): Promise<void> {
  const until = Date.now() + boundMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}
