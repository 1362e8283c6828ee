import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { systemClock, type Clock } from '../../src/clock';
import { DnsClient } from '../../src/dns/dns-client';
import { RecursiveResolver } from '../../src/dns/recursive-resolver';
import { createLogger } from '../../src/logger';
import { MxTransport, type MxTransportOptions } from '../../src/messages/mx.transport';
import { selfSignedCertificate, type TlsMaterial } from '../../src/relay/tls';
import { TestDnsServer } from '../support/dns-server';
import { eventually } from '../support/eventually';
import { SmtpSink, startSinksOnOnePort } from '../support/smtp-sink';

/**
 * Direct MX delivery against real sockets: the test DNS server (as the DNS_RESOLVERS
 * resolver) publishes MX records that point at smtp-server sinks on 127.0.0.x, all on one
 * port (MX_PORT); MTA-STS policies come from a local HTTPS server.
 */

const logger = createLogger('silent');
const raw = (to: string) => Buffer.from(`From: <sender@origin.test>\r\nTo: <${to}>\r\nSubject: hi\r\n\r\nhello\r\n`);
const message = (recipients: string[]) => ({ from: 'sender@origin.test', recipients, raw: raw(recipients[0]) });

// Nothing listens on these: connections are refused at once.
const DEAD_1 = '127.0.0.29';
const DEAD_2 = '127.0.0.33';
const SILENT = '127.0.0.31';
const BUSY = '127.0.0.35';
const STS_HOST = '127.0.0.40';

describe('MxTransport: direct delivery to MX hosts', () => {
  let dns: TestDnsServer;
  let client: DnsClient;
  let resolver: RecursiveResolver;
  let sinks: Record<string, SmtpSink>;
  let port: number;
  let silent: TcpServer;
  const silentSockets = new Set<Socket>();
  let busy: TcpServer;
  let busyConnections = 0;
  let sts: HttpsServer;
  const policyFetches = new Map<string, number>();
  /** The policy hosts' certificates, by host name. */
  const stsCerts = new Map<string, TlsMaterial>();
  let mxCert: TlsMaterial;
  let transport: MxTransport;
  const transports: MxTransport[] = [];

  const mx = (domain: string, ...hosts: Array<[number, string, string]>) => {
    dns.set(domain, 'MX', hosts.map(([preference, exchange]) => ({ preference, exchange })));
    for (const [, exchange, ip] of hosts) dns.set(exchange, 'A', [ip]);
  };
  const policy = (domain: string, body: string) => {
    dns.set(`_mta-sts.${domain}`, 'TXT', ['v=STSv1; id=20240101T000000']);
    dns.set(`mta-sts.${domain}`, 'A', [STS_HOST]);
    policies.set(`mta-sts.${domain}`, body);
  };
  const policies = new Map<string, string>();
  const make = (extra: Partial<MxTransportOptions> = {}, clock: Clock = systemClock) => {
    const t = new MxTransport(
      resolver,
      {
        port,
        maxConnectionsPerDestination: 5,
        ehloName: 'relay.origin.test',
        idleTimeoutMs: 60_000,
        greetingTimeoutMs: 1000,
        mtaSts: { port: (sts.address() as AddressInfo).port, ca: [...[...stsCerts.values()].map((c) => c.cert), mxCert.cert] },
        ...extra,
      },
      clock,
      logger,
    );
    transports.push(t);
    return t;
  };

  beforeAll(async () => {
    const stsHosts = ['mta-sts.sts.test', 'mta-sts.goodsts.test', 'mta-sts.plainsts.test', 'mta-sts.wrongcert.test'];
    const certs = await Promise.all([...stsHosts, 'mx.goodsts.test'].map((h) => selfSignedCertificate(h)));
    stsHosts.forEach((h, i) => stsCerts.set(h, certs[i]));
    mxCert = certs[stsHosts.length];
    const contexts = new Map<string, SecureContext>(stsHosts.map((h, i) => [h, createSecureContext({ key: certs[i].key, cert: certs[i].cert })]));
    dns = await TestDnsServer.start({ host: '127.0.0.1', mode: 'resolver' });
    client = new DnsClient({ timeoutMs: 1000, retries: 0 });
    resolver = new RecursiveResolver(client, [dns.address]);
    const names = ['ok', 'mixed', 'grey', 'fallback', 'pref', 'batch', 'seq', 'goodsts', 'plainsts', 'badtls', 'idle'] as const;
    const started = await startSinksOnOnePort([
      { host: '127.0.0.21' },
      { host: '127.0.0.22' },
      { host: '127.0.0.23' },
      { host: '127.0.0.24', starttls: false },
      { host: '127.0.0.25' },
      { host: '127.0.0.26' },
      { host: '127.0.0.27' },
      { host: '127.0.0.28', key: mxCert.key, cert: mxCert.cert },
      { host: '127.0.0.30', starttls: false },
      // Offers STARTTLS, but only TLS 1.1, which the client refuses: every handshake fails.
      { host: '127.0.0.32', tls: { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' } },
      { host: '127.0.0.34' },
    ]);
    sinks = Object.fromEntries(names.map((n, i) => [n, started[i]]));
    port = started[0].port;

    // Accepts connections and never says a word: the greeting times out.
    silent = createTcpServer((s) => {
      silentSockets.add(s);
      s.on('close', () => silentSockets.delete(s));
    });
    await new Promise<void>((resolve) => silent.listen(port, SILENT, resolve));
    // Greets with 421 and hangs up, counting who came.
    busy = createTcpServer((s) => {
      busyConnections++;
      s.on('error', () => {});
      s.end('421 4.3.2 Too busy, come back later\r\n');
    });
    await new Promise<void>((resolve) => busy.listen(port, BUSY, resolve));

    const fallback = stsCerts.get('mta-sts.sts.test')!;
    const sni = (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) => cb(null, contexts.get(name));
    sts = createHttpsServer({ key: fallback.key, cert: fallback.cert, SNICallback: sni }, (req, res) => {
      const host = String(req.headers.host);
      policyFetches.set(host, (policyFetches.get(host) ?? 0) + 1);
      const body = req.url === '/.well-known/mta-sts.txt' ? policies.get(host) : undefined;
      res.writeHead(body ? 200 : 404, { 'content-type': 'text/plain' }).end(body ?? 'not found');
    });
    await new Promise<void>((resolve) => sts.listen(0, STS_HOST, resolve));

    mx('ok.test', [10, 'mx.ok.test', '127.0.0.21']);
    mx('mixed.test', [10, 'mx.mixed.test', '127.0.0.22']);
    mx('grey.test', [10, 'mx.grey.test', '127.0.0.23']);
    dns.set('nullmx.test', 'MX', [{ preference: 0, exchange: '.' }]);
    dns.set('fallback.test', 'A', ['127.0.0.24']);
    // Listed out of order: the transport sorts by preference.
    mx('pref.test', [30, 'mx3.pref.test', '127.0.0.21'], [10, 'mx1.pref.test', DEAD_1], [20, 'mx2.pref.test', '127.0.0.25']);
    mx('slow.test', [10, 'mx1.slow.test', SILENT], [20, 'mx2.slow.test', '127.0.0.25']);
    mx('down.test', [10, 'mx1.down.test', DEAD_1], [20, 'mx2.down.test', DEAD_2]);
    mx('busy.test', [10, 'mx.busy.test', BUSY]);
    mx('batch.test', [10, 'mx.batch.test', '127.0.0.26']);
    mx('seq.test', [10, 'mx.seq.test', '127.0.0.27']);
    mx('idle.test', [10, 'mx.idle.test', '127.0.0.34']);
    mx('badtls.test', [10, 'mx.badtls.test', '127.0.0.32']);
    mx('sts.test', [10, 'mx.sts.test', '127.0.0.21']);
    policy('sts.test', 'version: STSv1\nmode: enforce\nmx: mail.elsewhere.test\nmax_age: 86400\n');
    mx('goodsts.test', [10, 'mx.goodsts.test', '127.0.0.28']);
    policy('goodsts.test', 'version: STSv1\nmode: enforce\nmx: *.goodsts.test\nmax_age: 86400\n');
    // The sink at .28 holds a certificate for mx.goodsts.test only.
    mx('wrongcert.test', [10, 'mx.wrongcert.test', '127.0.0.28']);
    policy('wrongcert.test', 'version: STSv1\nmode: enforce\nmx: mx.wrongcert.test\nmax_age: 86400\n');
    mx('plainsts.test', [10, 'mx.plainsts.test', '127.0.0.30']);
    policy('plainsts.test', 'version: STSv1\nmode: enforce\nmx: mx.plainsts.test\nmax_age: 86400\n');

    transport = make();
  });

  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    for (const s of silentSockets) s.destroy();
    await Promise.all([
      ...Object.values(sinks).map((s) => s.close()),
      new Promise((r) => silent.close(r)),
      new Promise((r) => busy.close(r)),
      new Promise((r) => sts.close(r)),
      dns.close(),
    ]);
    client.close();
  });

  it('delivers to the MX host over STARTTLS and reports its 250 and the remote host', async () => {
    const [r] = await transport.deliver(message(['alice@ok.test']));
    expect(r).toMatchObject({ address: 'alice@ok.test', outcome: 'delivered', remoteHost: 'mx.ok.test[127.0.0.21]' });
    expect(r.reply).toMatchObject({ code: 250 });
    expect(sinks.ok.to('alice@ok.test')).toEqual([expect.objectContaining({ from: 'sender@origin.test', secure: true, raw: raw('alice@ok.test') })]);
  });

  it('bounces a recipient refused with 550 5.1.1 at RCPT TO and delivers the others of the transaction', async () => {
    sinks.mixed.rcpt('bad@mixed.test', ['550 5.1.1 No such user here']);
    const results = await transport.deliver(message(['good@mixed.test', 'bad@mixed.test']));
    expect(results).toEqual([
      expect.objectContaining({ address: 'good@mixed.test', outcome: 'delivered', remoteHost: 'mx.mixed.test[127.0.0.22]' }),
      {
        address: 'bad@mixed.test',
        outcome: 'bounced',
        reply: { code: 550, enhanced: '5.1.1', message: 'No such user here' },
        remoteHost: 'mx.mixed.test[127.0.0.22]',
        reason: 'mx.mixed.test[127.0.0.22] said: 550 5.1.1 No such user here (in reply to RCPT TO)',
      },
    ]);
    expect(sinks.mixed.to('good@mixed.test').map((m) => m.to)).toEqual([['good@mixed.test']]);
  });

  it('defers a recipient answered 451 at RCPT TO, and delivers it on the next attempt', async () => {
    sinks.grey.rcpt('later@grey.test', ['451 4.7.1 Greylisted, try again later', 250]);
    const [first] = await transport.deliver(message(['later@grey.test']));
    expect(first).toMatchObject({ outcome: 'deferred', reply: { code: 451, enhanced: '4.7.1', message: 'Greylisted, try again later' } });
    expect(sinks.grey.to('later@grey.test')).toHaveLength(0);
    const [second] = await transport.deliver(message(['later@grey.test']));
    expect(second).toMatchObject({ outcome: 'delivered', reply: { code: 250 } });
    expect(sinks.grey.to('later@grey.test')).toHaveLength(1);
  });

  it('bounces the recipients of a domain that publishes a null MX, without connecting anywhere', async () => {
    const [r] = await transport.deliver(message(['nobody@nullmx.test']));
    expect(r).toEqual({ address: 'nobody@nullmx.test', outcome: 'bounced', reply: null, remoteHost: null, reason: expect.stringContaining('null MX') });
  });

  it('falls back to the A record of a domain without MX (RFC 5321 §5.1), in plaintext when STARTTLS is not offered', async () => {
    const [r] = await transport.deliver(message(['x@fallback.test']));
    expect(r).toMatchObject({ outcome: 'delivered', remoteHost: 'fallback.test[127.0.0.24]' });
    expect(sinks.fallback.to('x@fallback.test')).toEqual([expect.objectContaining({ secure: false })]);
  });

  it('bounces a domain that does not exist, and defers when DNS fails', async () => {
    const [r] = await transport.deliver(message(['x@nosuch.test']));
    expect(r).toMatchObject({ outcome: 'bounced', reply: null, reason: expect.stringContaining('NXDOMAIN') });

    const broken = await TestDnsServer.start({ host: '127.0.0.1', mode: 'resolver' });
    broken.faults = { servfail: true };
    try {
      const t = new MxTransport(new RecursiveResolver(client, [broken.address]), { port, maxConnectionsPerDestination: 1, ehloName: 'relay.origin.test' }, systemClock, logger);
      transports.push(t);
      const [d] = await t.deliver(message(['alice@ok.test']));
      expect(d).toMatchObject({ outcome: 'deferred', reply: null, remoteHost: null, reason: expect.stringContaining('servfail') });
    } finally {
      await broken.close();
    }
  });

  it('tries MX hosts lowest preference first, and the next one when the first is down', async () => {
    const [r] = await transport.deliver(message(['p@pref.test']));
    expect(r).toMatchObject({ outcome: 'delivered', remoteHost: 'mx2.pref.test[127.0.0.25]' });
    expect(sinks.pref.to('p@pref.test')).toHaveLength(1);
    expect(sinks.ok.to('p@pref.test')).toHaveLength(0);
  });

  it('moves on to the next MX when one never greets (time out)', async () => {
    const [r] = await transport.deliver(message(['s@slow.test']));
    expect(r).toMatchObject({ outcome: 'delivered', remoteHost: 'mx2.slow.test[127.0.0.25]' });
  });

  it('defers when every MX host is down, naming each failure', async () => {
    const [r] = await transport.deliver(message(['d@down.test']));
    expect(r).toMatchObject({ outcome: 'deferred', reply: null });
    expect(r.reason).toContain(`mx1.down.test[${DEAD_1}]`);
    expect(r.reason).toContain(`mx2.down.test[${DEAD_2}]`);
  });

  it('defers with the greeting that refused the session, and lets messages queued behind a failed attempt share its failure', async () => {
    const limited = make({ maxConnectionsPerDestination: 1 });
    const results = await Promise.all(['q1', 'q2', 'q3', 'q4'].map((l) => limited.deliver(message([`${l}@busy.test`]))));
    for (const [r] of results) {
      expect(r).toMatchObject({ outcome: 'deferred', reply: { code: 421, enhanced: '4.3.2', message: 'Too busy, come back later' }, remoteHost: `mx.busy.test[${BUSY}]` });
    }
    // One attempt answered all four messages, which were waiting for it.
    expect(busyConnections).toBe(1);
    // A later message tries again.
    const [again] = await limited.deliver(message(['q5@busy.test']));
    expect(again.outcome).toBe('deferred');
    expect(busyConnections).toBe(2);
  });

  it('rests a destination after a 421 (MX_DESTINATION_BACKOFF_MS): later messages defer without connecting until the rest is over, which doubles', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const resting = make({ destinationBackoffMs: 60_000 }, { now: () => new Date(now) });
    const before = busyConnections;
    const [first] = await resting.deliver(message(['r1@busy.test']));
    expect(first).toMatchObject({ outcome: 'deferred', reply: { code: 421 } });
    expect(busyConnections).toBe(before + 1);

    const [second] = await resting.deliver(message(['r2@busy.test']));
    expect(second).toMatchObject({ outcome: 'deferred', reply: { code: 421 }, remoteHost: `mx.busy.test[${BUSY}]` });
    expect(second.reason).toMatch(/^the MX hosts of busy\.test failed 1 time in a row; no new attempt before 2026-01-01T00:01:00\.000Z: /);
    expect(busyConnections).toBe(before + 1);

    now += 60_000;
    const [third] = await resting.deliver(message(['r3@busy.test']));
    expect(third.reason).toMatch(/^no MX host of busy\.test took a session/);
    expect(busyConnections).toBe(before + 2);
    const [fourth] = await resting.deliver(message(['r4@busy.test']));
    expect(fourth.reason).toContain('failed 2 times in a row; no new attempt before 2026-01-01T00:03:00.000Z');
    expect(busyConnections).toBe(before + 2);
    // Another destination is not held up by this one's rest.
    const [other] = await resting.deliver(message(['r5@ok.test']));
    expect(other.outcome).toBe('delivered');
  });

  it('applies a 554 after DATA to every recipient accepted at RCPT TO, and a 451 after DATA defers them', async () => {
    sinks.mixed.rcpt('gone@mixed.test', ['550 5.1.1 No such user here']);
    sinks.mixed.plan('a@mixed.test', ['554 5.6.0 Content rejected']);
    const results = await transport.deliver(message(['a@mixed.test', 'gone@mixed.test', 'c@mixed.test']));
    expect(results.map((r) => [r.address, r.outcome, r.reply?.code, r.reply?.enhanced])).toEqual([
      ['a@mixed.test', 'bounced', 554, '5.6.0'],
      ['gone@mixed.test', 'bounced', 550, '5.1.1'],
      ['c@mixed.test', 'bounced', 554, '5.6.0'],
    ]);
    expect(results[0].reason).toContain('(in reply to end of DATA)');

    sinks.mixed.plan('d@mixed.test', ['451 4.3.0 Queue full']);
    const later = await transport.deliver(message(['d@mixed.test', 'e@mixed.test']));
    expect(later.map((r) => [r.outcome, r.reply?.code])).toEqual([
      ['deferred', 451],
      ['deferred', 451],
    ]);
  });

  it('delivers one message to recipients of several domains, one result per recipient in the order given', async () => {
    sinks.mixed.rcpt('nope@mixed.test', ['550 5.1.1 No such user here']);
    const results = await transport.deliver(message(['m1@ok.test', 'nope@mixed.test', 'n@nullmx.test', 'M2@OK.test', 'not-an-address']));
    expect(results.map((r) => [r.address, r.outcome])).toEqual([
      ['m1@ok.test', 'delivered'],
      ['nope@mixed.test', 'bounced'],
      ['n@nullmx.test', 'bounced'],
      ['M2@OK.test', 'delivered'],
      ['not-an-address', 'bounced'],
    ]);
    // Both ok.test recipients went in one transaction.
    expect(sinks.ok.to('m1@ok.test').map((m) => m.to)).toEqual([['m1@ok.test', 'M2@OK.test']]);
  });

  it('batches messages to one destination over at most MX_MAX_CONNECTIONS_PER_DOMAIN sessions', async () => {
    const limited = make({ maxConnectionsPerDestination: 2 });
    const rcpts = Array.from({ length: 12 }, (_, i) => `b${i}@batch.test`);
    const results = await Promise.all(rcpts.map((r) => limited.deliver(message([r]))));
    expect(results.flat().map((r) => r.outcome)).toEqual(rcpts.map(() => 'delivered'));
    expect(sinks.batch.received).toHaveLength(12);
    expect(sinks.batch.connections).toBeLessThanOrEqual(2);
    expect(sinks.batch.maxConcurrent).toBeLessThanOrEqual(2);
  });

  it('reuses one pooled session for messages sent one after another (RSET, then MAIL FROM)', async () => {
    for (const r of ['s1@seq.test', 's2@seq.test', 's3@seq.test']) {
      const [res] = await transport.deliver(message([r]));
      expect(res.outcome).toBe('delivered');
    }
    expect(sinks.seq.connections).toBe(1);
    expect(new Set(sinks.seq.received.map((m) => m.connection))).toEqual(new Set([1]));
  });

  it('closes an idle session after the idle time out, and every session on close()', async () => {
    const t = make({ idleTimeoutMs: 50 });
    await t.deliver(message(['i1@idle.test']));
    await eventually(() => expect(sinks.idle.open).toBe(0), { message: 'the idle session to close' });
    await t.deliver(message(['i2@idle.test']));
    expect(sinks.idle.connections).toBe(2);

    const u = make();
    await u.deliver(message(['i3@idle.test']));
    expect(sinks.idle.open).toBe(1);
    await u.close();
    await eventually(() => expect(sinks.idle.open).toBe(0), { message: 'close() to end the pooled session' });
  });

  it('falls back to plaintext on the same host when the STARTTLS handshake fails', async () => {
    const [r] = await transport.deliver(message(['t@badtls.test']));
    expect(r).toMatchObject({ outcome: 'delivered', remoteHost: 'mx.badtls.test[127.0.0.32]' });
    expect(sinks.badtls.to('t@badtls.test')).toEqual([expect.objectContaining({ secure: false })]);
  });

  describe('MTA-STS', () => {
    it('defers, without connecting, when an enforce policy matches none of the MX hosts', async () => {
      const before = sinks.ok.connections;
      const [r] = await transport.deliver(message(['x@sts.test']));
      expect(r).toMatchObject({ outcome: 'deferred', reply: null, remoteHost: null });
      expect(r.reason).toMatch(/MTA-STS policy of sts\.test \(enforce.*mail\.elsewhere\.test.*none of mx\.sts\.test matches/);
      expect(sinks.ok.connections).toBe(before);
      expect(sinks.ok.to('x@sts.test')).toHaveLength(0);
    });

    it('delivers over a verified TLS session when the MX matches, fetching the policy once', async () => {
      for (const r of ['g1@goodsts.test', 'g2@goodsts.test']) {
        const [res] = await transport.deliver(message([r]));
        expect(res).toMatchObject({ outcome: 'delivered', remoteHost: 'mx.goodsts.test[127.0.0.28]' });
      }
      expect(sinks.goodsts.received.map((m) => m.secure)).toEqual([true, true]);
      expect(policyFetches.get('mta-sts.goodsts.test')).toBe(1);
    });

    it('defers when the certificate of a matching MX is not valid for its name', async () => {
      const before = sinks.goodsts.received.length;
      const [r] = await transport.deliver(message(['w@wrongcert.test']));
      expect(r).toMatchObject({ outcome: 'deferred', remoteHost: 'mx.wrongcert.test[127.0.0.28]' });
      expect(r.reason).toContain('MTA-STS enforce');
      expect(sinks.goodsts.received).toHaveLength(before);
    });

    it('defers when a matching MX offers no STARTTLS', async () => {
      const [r] = await transport.deliver(message(['p@plainsts.test']));
      expect(r).toMatchObject({ outcome: 'deferred' });
      expect(r.reason).toContain('MTA-STS enforce');
      expect(r.reason).toContain('mx.plainsts.test[127.0.0.30]');
      expect(sinks.plainsts.received).toHaveLength(0);
    });
  });
});
