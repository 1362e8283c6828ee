import request from 'supertest';
import { eventually } from '../support/eventually';
import { createAccount, type TestAccount } from '../support/factories';
import { expectMatchesDocument } from '../support/openapi';
import { plainMessage, relaySession, startRelayFixture, type RelayFixture } from '../support/relay-fixture';
import { createTestContainer, type TestContainer } from '../support/services';
import type { SmtpTestClient } from '../support/smtp-client';
import { TcpProxy } from '../support/tcp-proxy';

const SUPPRESSED = '550 5.1.1 Recipient address is suppressed';
const TEMPORARY = '451 4.3.0 Temporary failure, try again later';

const path = (address: string) => `/v1/suppressions/${encodeURIComponent(address)}`;

describe('the suppression list over the API (GET, PUT, DELETE /v1/suppressions)', () => {
  let c: TestContainer;
  let a: TestAccount;
  let b: TestAccount;

  beforeAll(async () => {
    c = await createTestContainer();
    a = await createAccount(c.http, 'A');
    b = await createAccount(c.http, 'B');
  });
  afterAll(async () => {
    await c.dispose();
  });

  const put = async (acct: TestAccount, address: string, body?: object) =>
    expectMatchesDocument(c.http, await (body ? request(c.http).put(path(address)).set(acct.auth).send(body) : request(c.http).put(path(address)).set(acct.auth)));
  const list = async (acct: TestAccount, query = '') => expectMatchesDocument(c.http, await request(c.http).get(`/v1/suppressions${query}`).set(acct.auth));
  const remove = async (acct: TestAccount, address: string) => expectMatchesDocument(c.http, await request(c.http).delete(path(address)).set(acct.auth));

  it('adds an address by hand (201, Location), and changes its entry on a second PUT (200)', async () => {
    const created = await put(a, 'Manual@Example.COM');
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe('/v1/suppressions/Manual%40example.com');
    expect(created.body).toEqual({ address: 'Manual@example.com', reason: 'manual', reply: null, createdAt: expect.any(String), expiresAt: null });

    const changed = await put(a, 'Manual@example.com', { reason: 'complaint', expiresAt: '2099-01-01T00:00:00+02:00' });
    expect(changed.status).toBe(200);
    expect(changed.body).toEqual({ ...created.body, reason: 'complaint', expiresAt: '2098-12-31T22:00:00.000Z' });
    expect(await c.mongo.collection('suppressions').countDocuments({ accountId: a.id } as never)).toBe(1);
  });

  it('compares the domain case-insensitively and the local part exactly as given', async () => {
    expect((await put(a, 'case@Example.com')).status).toBe(201);
    expect((await put(a, 'case@EXAMPLE.COM')).status).toBe(200);
    expect((await put(a, 'Case@example.com')).status).toBe(201);
    const addresses = (await list(a)).body.data.map((s: { address: string }) => s.address);
    expect(addresses.filter((x: string) => x.toLowerCase() === 'case@example.com')).toEqual(['Case@example.com', 'case@example.com']);
  });

  it('lists the entries in force in address order, a page at a time (?limit&after)', async () => {
    const acct = await createAccount(c.http, 'pages');
    for (const x of ['d@example.com', 'a@example.com', 'c@example.com', 'b@example.com', 'e@example.com']) await put(acct, x);
    const first = await list(acct, '?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.data.map((s: { address: string }) => s.address)).toEqual(['a@example.com', 'b@example.com']);
    const second = await list(acct, `?limit=2&after=${encodeURIComponent(first.body.nextCursor)}`);
    expect(second.body.data.map((s: { address: string }) => s.address)).toEqual(['c@example.com', 'd@example.com']);
    const last = await list(acct, `?limit=2&after=${encodeURIComponent(second.body.nextCursor)}`);
    expect(last.body).toEqual({ data: [expect.objectContaining({ address: 'e@example.com' })], nextCursor: null });
    const bad = await list(acct, '?limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ field: 'limit', message: 'must be at least 1' }]);
  });

  it('removes an address (204), and answers 404 once it is not on the list', async () => {
    await put(a, 'gone@example.com');
    expect((await remove(a, 'gone@EXAMPLE.com')).status).toBe(204);
    const again = await remove(a, 'gone@example.com');
    expect(again.status).toBe(404);
    expect(again.headers['content-type']).toMatch(/problem\+json/);
    expect((await remove(a, 'never@example.com')).status).toBe(404);
  });

  it('answers 400 problem+json naming the field for a bad address, reason or expiry', async () => {
    for (const bad of ['no-at-sign', 'a b@example.com', 'user@localhost', 'user@[192.0.2.1]']) {
      const res = await put(a, bad);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.body.errors).toEqual([{ field: 'address', message: expect.any(String) }]);
      const del = await remove(a, bad);
      expect(del.status).toBe(400);
      expect(del.body.errors[0].field).toBe('address');
    }
    const reason = await put(a, 'x@example.com', { reason: 'spite' });
    expect(reason.status).toBe(400);
    expect(reason.body.errors).toEqual([{ field: 'reason', message: 'must be one of bounce, complaint, manual' }]);
    const expiry = await put(a, 'x@example.com', { expiresAt: 'tomorrow' });
    expect(expiry.body.errors).toEqual([{ field: 'expiresAt', message: expect.stringMatching(/ISO 8601/) }]);
    const extra = await put(a, 'x@example.com', { note: 'hi' });
    expect(extra.body.errors).toEqual([{ field: 'note', message: 'is not a known field' }]);
  });

  it('keeps accounts apart: another account neither sees nor removes an entry, and keeps its own', async () => {
    await put(a, 'private@example.com');
    expect((await list(b)).body.data).toEqual([]);
    expect((await remove(b, 'private@example.com')).status).toBe(404);
    expect((await put(b, 'private@example.com')).status).toBe(201);
    expect((await remove(b, 'private@example.com')).status).toBe(204);
    expect((await list(a)).body.data.map((s: { address: string }) => s.address)).toContain('private@example.com');
    expect((await request(c.http).get('/v1/suppressions')).status).toBe(401);
  });

  it('records a hard bounce once, whatever the number of concurrent callers, with its reason and reply', async () => {
    const reply = { code: 550, enhanced: '5.1.1', message: 'no such user' };
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => c.services.suppressions.suppress(a.id, i % 2 ? 'Bounced@DEST.example' : 'Bounced@dest.example', 'bounce', reply)),
    );
    expect(new Set(results.map((r) => r.address))).toEqual(new Set(['Bounced@dest.example']));
    expect(await c.mongo.collection('suppressions').countDocuments({ accountId: a.id, address: 'Bounced@dest.example' } as never)).toBe(1);
    const entry = (await list(a)).body.data.find((s: { address: string }) => s.address === 'Bounced@dest.example');
    expect(entry).toEqual({ address: 'Bounced@dest.example', reason: 'bounce', reply, createdAt: expect.any(String), expiresAt: null });
    // A later PUT changes the reason and expiry; the reply that caused the entry stays.
    const changed = await put(a, 'Bounced@dest.example', { reason: 'manual' });
    expect(changed.status).toBe(200);
    expect(changed.body.reply).toEqual(reply);
  });

  it('treats an entry past its expiresAt as absent: not listed, renewed as new by PUT, 404 on DELETE', async () => {
    const past = await put(a, 'expired@example.com', { expiresAt: '2001-01-01T00:00:00Z' });
    expect(past.status).toBe(201);
    expect(past.body.expiresAt).toBe('2001-01-01T00:00:00.000Z');
    expect((await list(a)).body.data.map((s: { address: string }) => s.address)).not.toContain('expired@example.com');
    expect((await put(a, 'expired@example.com', { expiresAt: '2002-01-01T00:00:00Z' })).status).toBe(201);
    expect((await remove(a, 'expired@example.com')).status).toBe(404);
    expect(await c.mongo.collection('suppressions').countDocuments({ accountId: a.id, address: 'expired@example.com' } as never)).toBe(0);
  });
});

describe('RCPT TO an address on the suppression list, over STARTTLS+AUTH', () => {
  let f: RelayFixture;
  let mongoProxy: TcpProxy;

  beforeAll(async () => {
    // MongoDB through a proxy the last test stalls.
    const mongo = new URL(process.env.MW_TEST_MONGODB_URI!);
    mongoProxy = await TcpProxy.start(mongo.hostname, Number(mongo.port || 27017));
    mongo.hostname = '127.0.0.1';
    mongo.port = String(mongoProxy.port);
    f = await startRelayFixture({ MONGODB_URI: mongo.toString() });
  });
  afterEach(() => mongoProxy.restore());
  afterAll(async () => {
    await f.close();
    await mongoProxy.close();
  });

  const put = async (address: string, body: object = {}) =>
    expectMatchesDocument(f.c.http, await request(f.c.http).put(path(address)).set(f.acct.auth).send(body));

  async function session(): Promise<SmtpTestClient> {
    const client = await relaySession(f.relay.port);
    expect((await client.login(f.username, f.password)).code).toBe(235);
    return client;
  }

  /** RCPT TO in a fresh transaction until its reply is no longer `not`; that reply. */
  async function rcptUntilNot(client: SmtpTestClient, address: string, not: number) {
    return eventually(
      async () => {
        await client.command('RSET');
        expect((await client.command(`MAIL FROM:<${f.from}>`)).code).toBe(250);
        return client.command(`RCPT TO:<${address}>`);
      },
      { until: (reply) => reply.code !== not, message: `RCPT TO:<${address}> to stop answering ${not}` },
    );
  }

  it('answers 550 5.1.1 for the suppressed recipient while another one in the same message is accepted', async () => {
    expect((await put('Blocked@Dest.example')).status).toBe(201);
    const client = await session();
    expect((await client.command(`MAIL FROM:<${f.from}>`)).code).toBe(250);
    expect((await client.command('RCPT TO:<ok@dest.example>')).code).toBe(250);
    // The domain part compares case-insensitively.
    expect((await client.command('RCPT TO:<Blocked@DEST.EXAMPLE>')).raw).toBe(SUPPRESSED);
    // The local part compares exactly: another mailbox.
    expect((await client.command('RCPT TO:<blocked@dest.example>')).code).toBe(250);
    const reply = await client.data(plainMessage(f.from));
    expect(reply.code).toBe(250);
    const queueId = reply.text.split(' ').pop()!;
    const stored = await f.c.mongo.collection('messages').findOne({ _id: queueId } as never);
    expect(stored?.envelope.to).toEqual(['ok@dest.example', 'blocked@dest.example']);
    await client.quit();
  });

  it('lets the address through once it is removed through the API', async () => {
    await put('removed@dest.example');
    const client = await session();
    expect((await client.command(`MAIL FROM:<${f.from}>`)).code).toBe(250);
    expect((await client.command('RCPT TO:<removed@dest.example>')).raw).toBe(SUPPRESSED);
    await expectMatchesDocument(f.c.http, await request(f.c.http).delete(path('removed@dest.example')).set(f.acct.auth).expect(204));
    // The relay had the entry cached: the removal reaches it over pub/sub.
    expect((await rcptUntilNot(client, 'removed@dest.example', 550)).code).toBe(250);
    expect((await client.data(plainMessage(f.from))).code).toBe(250);
    await client.quit();
  });

  it('suppresses an address the relay had already accepted, once it is added (a hard bounce)', async () => {
    const client = await session();
    expect((await client.command(`MAIL FROM:<${f.from}>`)).code).toBe(250);
    expect((await client.command('RCPT TO:<bounces@dest.example>')).code).toBe(250);
    await f.c.services.suppressions.suppress(f.acct.id, 'bounces@dest.example', 'bounce', { code: 550, enhanced: '5.1.1', message: 'user unknown' });
    expect((await rcptUntilNot(client, 'bounces@dest.example', 250)).raw).toBe(SUPPRESSED);
    await client.quit();
  });

  it('does not suppress with an entry added by hand whose expiry has passed', async () => {
    expect((await put('expired@dest.example', { expiresAt: '2001-01-01T00:00:00Z' })).status).toBe(201);
    await put('current@dest.example', { expiresAt: '2099-01-01T00:00:00Z' });
    const client = await session();
    expect((await client.command(`MAIL FROM:<${f.from}>`)).code).toBe(250);
    expect((await client.command('RCPT TO:<current@dest.example>')).raw).toBe(SUPPRESSED);
    expect((await client.command('RCPT TO:<expired@dest.example>')).code).toBe(250);
    await client.quit();
  });

  it("does not suppress with another account's entry", async () => {
    const other = await createAccount(f.c.http, 'other');
    await expectMatchesDocument(f.c.http, await request(f.c.http).put(path('theirs@dest.example')).set(other.auth).expect(201));
    const client = await session();
    expect((await client.command(`MAIL FROM:<${f.from}>`)).code).toBe(250);
    expect((await client.command('RCPT TO:<theirs@dest.example>')).code).toBe(250);
    expect((await client.data(plainMessage(f.from))).code).toBe(250);
    await client.quit();
  });

  it('fails closed with 451 4.3.0 when the list cannot be read, and the transaction goes on', async () => {
    const client = await session();
    expect((await client.command(`MAIL FROM:<${f.from}>`)).code).toBe(250);
    expect((await client.command('RCPT TO:<first@dest.example>')).code).toBe(250);
    mongoProxy.stall();
    expect((await client.command('RCPT TO:<unseen@dest.example>')).raw).toBe(TEMPORARY);
    mongoProxy.restore();
    expect((await client.command('RCPT TO:<unseen@dest.example>')).code).toBe(250);
    await client.quit();
  });
});
