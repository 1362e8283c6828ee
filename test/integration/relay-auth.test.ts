import crypto from 'node:crypto';
import request from 'supertest';
import { relaySession, startRelayFixture, type RelayFixture } from '../support/relay-fixture';

const FAILED = '535 5.7.8 Authentication failed';

/** scrypt runs (the work one AUTH attempt costs), counted while `fn` runs. */
async function scryptRuns(fn: () => Promise<void>): Promise<Array<{ N?: number; r?: number; p?: number }>> {
  const spy = jest.spyOn(crypto, 'scrypt');
  try {
    await fn();
    return spy.mock.calls.map((call) => call[3] as { N?: number; r?: number; p?: number });
  } finally {
    spy.mockRestore();
  }
}

describe('SMTP AUTH lockout per client network and per username, over real STARTTLS sessions', () => {
  let f: RelayFixture;

  beforeAll(async () => {
    f = await startRelayFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  async function newUser(): Promise<{ username: string; password: string }> {
    const res = await request(f.c.http).post(`/v1/domains/${f.domain.id}/smtp-users`).set(f.acct.auth).send({}).expect(201);
    return res.body;
  }

  /** A session from `ip` that completed STARTTLS, ready for AUTH. */
  async function tlsSession(ip: string) {
    const client = await relaySession(f.relay.port, ip);
    await client.ehlo();
    await client.starttls();
    await client.ehlo();
    return client;
  }

  async function failFrom(ip: string, username: string, times: number): Promise<void> {
    const client = await tlsSession(ip);
    for (let i = 1; i <= times; i++) expect((await client.authPlain(username, `wrong-${i}`)).raw).toBe(FAILED);
    await client.quit();
  }

  it('locks out the attacking address after 5 failures, even for the right password, without spending scrypt on it', async () => {
    const user = await newUser();
    await failFrom('127.0.0.2', user.username, 5);
    const client = await tlsSession('127.0.0.2');
    const runs = await scryptRuns(async () => {
      expect((await client.authPlain(user.username, user.password)).raw).toBe(FAILED);
      expect((await client.authPlain('mwaaaaaaaaaaaaaaaa', 'x')).raw).toBe(FAILED);
    });
    expect(runs).toHaveLength(0);
    await client.quit();

    // The real user, from another address, is not affected.
    const other = await tlsSession('127.0.0.3');
    expect((await other.authPlain(user.username, user.password)).code).toBe(235);
    await other.quit();
  });

  it('lets the real user log in from a clean address while the username is attacked from many', async () => {
    const user = await newUser();
    // 20 failures from five addresses, none of them at the per-address limit.
    const attackers = ['127.0.0.10', '127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14'];
    for (const ip of attackers) await failFrom(ip, user.username, 4);

    // An attacking address has used up its tries for this username, even with the right password...
    const attacker = await tlsSession('127.0.0.10');
    expect((await attacker.authPlain(user.username, user.password)).raw).toBe(FAILED);
    await attacker.quit();

    // ...while an address that has not failed logs in, over PLAIN and LOGIN.
    const clean = await tlsSession('127.0.0.20');
    expect((await clean.authPlain(user.username, user.password)).code).toBe(235);
    expect((await clean.send(f.from, ['rcpt@dest.example'], `From: ${f.from}\r\nSubject: hi\r\n\r\nhi\r\n`)).code).toBe(250);
    await clean.quit();
    const login = await tlsSession('127.0.0.21');
    expect((await login.authLogin(user.username, user.password)).code).toBe(235);
    await login.quit();

    // Another username is not under attack: an address with failures of its own still has its tries.
    const other = await newUser();
    const mixed = await tlsSession('127.0.0.11');
    expect((await mixed.authPlain(other.username, other.password)).code).toBe(235);
    await mixed.quit();
  });

  it('costs an unknown username the same scrypt work as a known one', async () => {
    const user = await newUser();
    const client = await tlsSession('127.0.0.30');
    const known = await scryptRuns(async () => {
      expect((await client.authPlain(user.username, 'wrong')).raw).toBe(FAILED);
    });
    const unknown = await scryptRuns(async () => {
      expect((await client.authPlain('mwzzzzzzzzzzzzzzzz', 'wrong')).raw).toBe(FAILED);
      expect((await client.authPlain('not-even-a-username', 'wrong')).raw).toBe(FAILED);
    });
    await client.quit();
    expect(known).toHaveLength(1);
    expect(unknown).toHaveLength(2);
    for (const options of unknown) expect(options).toMatchObject({ N: known[0].N, r: known[0].r, p: known[0].p });
  });
});
