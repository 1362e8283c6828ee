import { Writable } from 'node:stream';
import { connect } from 'node:net';
import { Command, IPv4Address, IPv4ProxyAddress, TransportProtocol, V2ProxyProtocol } from 'proxy-protocol-js';
import { plainMessage, startRelayFixture, type RelayFixture } from '../support/relay-fixture';
import { SmtpTestClient } from '../support/smtp-client';

/**
 * DESIGN §5, behind a load balancer: a PROXY header (v1 or v2) is taken only from
 * SMTP_PROXY_PROTOCOL_FROM, and then the allowlist and the AUTH lockout see the client's
 * address, not the balancer's. And implicit TLS on SMTPS_PORT answers like STARTTLS does.
 */

// The balancer is 127.0.0.2; the clients it forwards come from documentation networks,
// which no socket here could bind. The allowlist admits 198.51.100.0/24 and 127.0.0.1.
const BALANCER = '127.0.0.2';
const ALLOWED_CLIENT = '198.51.100.7';
const v1 = (client: string, port = 40000) => `PROXY TCP4 ${client} 192.0.2.1 ${port} 587\r\n`;
const v2 = (client: string) =>
  new V2ProxyProtocol(
    Command.PROXY,
    TransportProtocol.STREAM,
    new IPv4ProxyAddress(IPv4Address.createFrom(client.split('.').map(Number)), 40001, IPv4Address.createFrom([192, 0, 2, 1]), 587),
  ).build();

/** A session through the balancer for `client`: the greeting the relay gave it. */
async function throughBalancer(port: number, header: string | Uint8Array, tls = false) {
  return SmtpTestClient.connect(port, { localAddress: BALANCER, preamble: header, tls });
}

let f: RelayFixture;
/** The relay's log lines, parsed. */
const logLines: Array<Record<string, unknown>> = [];
const logTo = new Writable({
  write(chunk, _enc, done) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
    done();
  },
});

beforeAll(async () => {
  f = await startRelayFixture({ SMTP_PROXY_PROTOCOL_FROM: `${BALANCER}/32`, LOG_LEVEL: 'info' }, ['127.0.0.1/32', '198.51.100.0/24'], '127.0.0.1', { logTo });
});

afterAll(async () => {
  await f?.close();
});

describe('PROXY protocol from SMTP_PROXY_PROTOCOL_FROM', () => {
  it('lets the allowlist judge the forwarded address (v1): allowed client in, other client out', async () => {
    const { client, greeting } = await throughBalancer(f.relay.port, v1(ALLOWED_CLIENT));
    expect(greeting.code).toBe(220);
    await client.quit();

    const denied = await throughBalancer(f.relay.port, v1('203.0.113.9'));
    expect(denied.greeting.raw).toBe('554 5.7.1 Access denied');
    await denied.client.whenClosed();
  });

  it('reads v2 binary headers too', async () => {
    const { client, greeting } = await throughBalancer(f.relay.port, v2('198.51.100.8'));
    expect(greeting.code).toBe(220);
    await client.quit();
    const denied = await throughBalancer(f.relay.port, v2('203.0.113.10'));
    expect(denied.greeting.raw).toBe('554 5.7.1 Access denied');
    await denied.client.whenClosed();
  });

  it('refuses a trusted peer that sends no PROXY header', async () => {
    const socket = connect({ port: f.relay.port, host: '127.0.0.1', localAddress: BALANCER });
    let received = '';
    socket.on('data', (d) => (received += d.toString()));
    socket.on('error', () => undefined);
    socket.write('EHLO straight.example\r\n');
    await new Promise((resolve) => socket.once('close', resolve));
    // Hung up on before any greeting.
    expect(received).toBe('');
  });

  it('counts AUTH failures against the forwarded client, not against the balancer', async () => {
    const attacker = '198.51.100.20';
    for (let i = 0; i < 5; i++) {
      const { client } = await throughBalancer(f.relay.port, v1(attacker, 41000 + i));
      expect((await client.login(f.username, 'wrong-password')).raw).toBe('535 5.7.8 Authentication failed');
      await client.quit();
    }
    const locked = await throughBalancer(f.relay.port, v1(attacker, 41010));
    expect((await locked.client.login(f.username, f.password)).raw).toBe('535 5.7.8 Authentication failed');
    await locked.client.quit();

    // The log names the client, never the balancer.
    const failures = logLines.filter((l) => l.msg === 'smtp auth failed' || String(l.msg).startsWith('smtp auth refused'));
    expect(failures.length).toBeGreaterThanOrEqual(6);
    expect(new Set(failures.map((l) => l.ip))).toEqual(new Set([attacker]));

    // Another client behind the same balancer is not locked out.
    const other = await throughBalancer(f.relay.port, v1('198.51.100.21'));
    expect((await other.client.login(f.username, f.password)).code).toBe(235);
    await other.client.quit();
  });
});

describe('PROXY protocol from anywhere else', () => {
  it('refuses a connection that starts with a PROXY header', async () => {
    const { client, greeting } = await SmtpTestClient.connect(f.relay.port, { localAddress: '127.0.0.1', preamble: v1(ALLOWED_CLIENT) });
    expect(greeting.code).toBe(421);
    await client.whenClosed();
  });

  it('refuses a PROXY header sent after the greeting, and closes the connection', async () => {
    const { client, greeting } = await SmtpTestClient.connect(f.relay.port, { localAddress: '127.0.0.1' });
    expect(greeting.code).toBe(220);
    expect((await client.command(v1(ALLOWED_CLIENT).trimEnd())).raw).toBe('421 4.7.0 PROXY header not accepted from this address');
    await client.whenClosed();
  });
});

describe('implicit TLS on SMTPS_PORT', () => {
  it('serves TLS from the first byte, AUTH without STARTTLS, and accepts mail with the same replies', async () => {
    expect(f.relay.smtpsPort).toEqual(expect.any(Number));
    expect(f.relay.smtpsPort).not.toBe(f.relay.port);
    const { client, greeting } = await SmtpTestClient.connect(f.relay.smtpsPort!, { localAddress: '127.0.0.1', tls: true });
    expect(greeting.code).toBe(220);
    expect(client.peerCertificate()).not.toBeNull();
    const ehlo = await client.ehlo();
    expect(ehlo.raw).toMatch(/AUTH PLAIN LOGIN/);
    expect(ehlo.raw).not.toMatch(/STARTTLS/);
    expect((await client.authPlain(f.username, f.password)).code).toBe(235);
    expect((await client.command('MAIL FROM:<app@elsewhere.example>')).raw).toBe('553 5.7.1 Sender address not permitted');
    const reply = await client.send(f.from, ['rcpt@dest.example'], plainMessage(f.from));
    expect(reply.text).toMatch(/^2\.0\.0 Ok: queued as [0-9a-z]{12}$/);
    await client.quit();
  });

  it('gives a client outside every allowlist the same 554 after the handshake', async () => {
    const { client, greeting } = await SmtpTestClient.connect(f.relay.smtpsPort!, { localAddress: '127.0.0.9', tls: true });
    expect(greeting.raw).toBe('554 5.7.1 Access denied');
    await client.whenClosed();
  });

  it('takes a PROXY header from the balancer before the TLS handshake', async () => {
    const { client, greeting } = await throughBalancer(f.relay.smtpsPort!, v1(ALLOWED_CLIENT), true);
    expect(greeting.code).toBe(220);
    expect((await client.ehlo()).code).toBe(250);
    expect((await client.authPlain(f.username, f.password)).code).toBe(235);
    await client.quit();
  });
});
