import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { main } from '../../src/main';
import { selfSignedCertificate, type TlsMaterial } from '../../src/relay/tls';
import { createAccount, registerDomain } from '../support/factories';
import { relaySession, startRelayFixture, waitForAllowlist, type RelayFixture } from '../support/relay-fixture';
import { createTestContainer, testEnv, uniqueName } from '../support/services';
import type { SmtpTestClient } from '../support/smtp-client';

/** The relay's certificate files, rewritten in place as a renewal would. */
class CertFiles {
  readonly dir = mkdtempSync(join(tmpdir(), 'mw-tls-'));
  readonly cert = join(this.dir, 'cert.pem');
  readonly key = join(this.dir, 'key.pem');

  write(material: { cert: string; key: string }): void {
    writeFileSync(this.cert, material.cert);
    writeFileSync(this.key, material.key);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** STARTTLS from 127.0.0.1 and the common name of the certificate the relay showed. */
async function tlsSession(port: number): Promise<{ client: SmtpTestClient; cn: string }> {
  const client = await relaySession(port);
  await client.ehlo();
  expect((await client.starttls()).code).toBe(220);
  await client.ehlo();
  return { client, cn: String(client.peerCertificate()?.subject?.CN) };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

let certA: TlsMaterial;
let certB: TlsMaterial;

beforeAll(async () => {
  [certA, certB] = await Promise.all([selfSignedCertificate('relay-a.test'), selfSignedCertificate('relay-b.test')]);
});

describe('relay TLS over STARTTLS', () => {
  let files: CertFiles;
  let f: RelayFixture;

  beforeAll(async () => {
    files = new CertFiles();
    files.write(certA);
    f = await startRelayFixture({ TLS_CERT_FILE: files.cert, TLS_KEY_FILE: files.key });
  });
  afterAll(async () => {
    await f.close();
    files.remove();
  });

  it('refuses a TLS 1.1 handshake with a protocol-version alert, and completes TLS 1.2', async () => {
    const old = await relaySession(f.relay.port);
    await old.ehlo();
    // SECLEVEL=0 lets this client offer TLS 1.1 at all; the refusal must come from the relay.
    await expect(old.starttls({ minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).rejects.toMatchObject({
      code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    });
    await old.quit();

    const tls12 = await relaySession(f.relay.port);
    await tls12.ehlo();
    expect((await tls12.starttls({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).code).toBe(220);
    await tls12.ehlo();
    expect((await tls12.authPlain(f.username, f.password)).code).toBe(235);
    await tls12.quit();
  });

  it('serves a reloaded certificate to new sessions while an established session goes on', async () => {
    const first = await tlsSession(f.relay.port);
    expect(first.cn).toBe('relay-a.test');
    expect((await first.client.authPlain(f.username, f.password)).code).toBe(235);

    files.write(certB);
    await f.relay.reloadTls();

    const second = await tlsSession(f.relay.port);
    expect(second.cn).toBe('relay-b.test');
    expect((await second.client.authPlain(f.username, f.password)).code).toBe(235);
    // The session encrypted under certificate A was not dropped.
    expect((await first.client.send(f.from, ['rcpt@dest.example'], `From: ${f.from}\r\nSubject: a\r\n\r\nstill here\r\n`)).code).toBe(250);
    await first.client.quit();
    await second.client.quit();
  });

  it('keeps its certificate when the new files do not make a pair', async () => {
    files.write(certB);
    await f.relay.reloadTls();
    files.write({ cert: certA.cert, key: certB.key });
    await expect(f.relay.reloadTls()).rejects.toThrow();
    const after = await tlsSession(f.relay.port);
    expect(after.cn).toBe('relay-b.test');
    expect((await after.client.authPlain(f.username, f.password)).code).toBe(235);
    await after.client.quit();
  });
});

describe('mailwarden relay on SIGHUP', () => {
  it('re-reads the certificate files, as main.ts wires it', async () => {
    const files = new CertFiles();
    files.write(certA);
    // The relay finds its allowlist in MongoDB at start: set one up in the database it will use.
    const dbName = uniqueName('t');
    const setup = await createTestContainer({}, { dbName });
    const acct = await createAccount(setup.http);
    const domain = await registerDomain(setup.http, acct, 'sighup.example.com', 'ed25519');
    await request(setup.http).put(`/v1/domains/${domain.id}/allowed-ips`).set(acct.auth).send({ cidrs: ['127.0.0.1/32'] }).expect(200);

    const mongo = new URL(process.env.MW_TEST_MONGODB_URI!);
    mongo.pathname = `/${dbName}`;
    const port = await freePort();
    let stop!: (signal: string) => void;
    let reload: (() => Promise<void>) | undefined;
    const exited = main(
      ['relay'],
      {
        ...testEnv(),
        NODE_ENV: 'production',
        MONGODB_URI: mongo.toString(),
        SMTP_HOST: '127.0.0.1',
        SMTP_PORT: String(port),
        TLS_CERT_FILE: files.cert,
        TLS_KEY_FILE: files.key,
      },
      {
        stdout: () => {},
        stderr: () => {},
        stopSignal: new Promise((resolve) => (stop = resolve)),
        onReload: (handler) => (reload = handler),
      },
    );
    try {
      await waitForRegistration(() => reload, exited);
      await waitForAllowlist(port, '127.0.0.1');
      const before = await tlsSession(port);
      expect(before.cn).toBe('relay-a.test');

      files.write(certB);
      await reload!();
      const after = await tlsSession(port);
      expect(after.cn).toBe('relay-b.test');
      await before.client.quit();
      await after.client.quit();
    } finally {
      stop('SIGTERM');
      expect(await exited).toBe(0);
      await setup.dispose();
      files.remove();
    }
  });
});

/** main() registers its SIGHUP handler once the role is up; fails at once if main exits first. */
async function waitForRegistration(handler: () => unknown, exited: Promise<number>): Promise<void> {
  let code: number | null = null;
  void exited.then((c) => (code = c));
  while (!handler()) {
    if (code !== null) throw new Error(`main exited with ${code} before it was up`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
