import request from 'supertest';
import { ManualClock } from '../../src/clock';
import { eventually } from '../support/eventually';
import { expectMatchesDocument } from '../support/openapi';
import { plainMessage, relaySession, startRelayFixture, type RelayFixture } from '../support/relay-fixture';
import { ADMIN_KEY } from '../support/services';
import type { SmtpReply, SmtpTestClient } from '../support/smtp-client';
import { TcpProxy, type RedisProxy } from '../support/tcp-proxy';

const RATE = '451 4.7.1 Sending rate exceeded, try again later';
const DAILY = '452 4.5.3 Daily sending quota exceeded';
const TEMPORARY = '451 4.3.0 Temporary failure, try again later';
const DAY_MS = 24 * 3600_000;
const admin = { Authorization: `Bearer ${ADMIN_KEY}` };

async function loggedIn(f: RelayFixture): Promise<SmtpTestClient> {
  const client = await relaySession(f.relay.port);
  expect((await client.login(f.username, f.password)).code).toBe(235);
  return client;
}

/** A fresh transaction with `count` recipients; every RCPT reply. */
async function recipients(client: SmtpTestClient, from: string, count: number, tag: string): Promise<SmtpReply[]> {
  await client.command('RSET');
  expect((await client.command(`MAIL FROM:<${from}>`)).code).toBe(250);
  const replies: SmtpReply[] = [];
  for (let i = 0; i < count; i++) replies.push(await client.command(`RCPT TO:<${tag}-${i}@dest.example>`));
  return replies;
}

describe('sending limits per domain, counted per recipient at RCPT TO', () => {
  // The per-second and daily windows follow the container's clock, which the tests move.
  const clock = new ManualClock(new Date());
  let f: RelayFixture;

  beforeAll(async () => {
    f = await startRelayFixture({ DEFAULT_RATE_PER_SECOND: '7', DEFAULT_DAILY_QUOTA: '1234' }, ['127.0.0.0/24'], '127.0.0.1', { clock });
  });
  afterAll(async () => {
    await f.close();
  });

  const setLimits = async (body: object, auth = admin, id = f.domain.id) =>
    expectMatchesDocument(f.c.http, await request(f.c.http).put(`/v1/admin/domains/${id}/limits`).set(auth).send(body));
  const getDomain = async () => expectMatchesDocument(f.c.http, await request(f.c.http).get(`/v1/domains/${f.domain.id}`).set(f.acct.auth).expect(200));

  it("shows the domain's limits (DEFAULT_RATE_PER_SECOND, DEFAULT_DAILY_QUOTA) and today's usage", async () => {
    const res = await getDomain();
    const midnight = new Date(clock.now());
    midnight.setUTCHours(24, 0, 0, 0);
    expect(res.body.quota).toEqual({ rateLimitPerSecond: 7, dailyQuota: 1234, sentToday: 0, resetsAt: midnight.toISOString() });
    const list = await expectMatchesDocument(f.c.http, await request(f.c.http).get('/v1/domains').set(f.acct.auth).expect(200));
    expect(list.body.data[0].quota).toEqual(res.body.quota);
  });

  it('lets the admin set limits (PUT /v1/admin/domains/:id/limits), a null going back to the default', async () => {
    const set = await setLimits({ rateLimitPerSecond: 100, dailyQuota: 5000 });
    expect(set.status).toBe(200);
    expect(set.body.quota).toMatchObject({ rateLimitPerSecond: 100, dailyQuota: 5000 });
    const back = await setLimits({ rateLimitPerSecond: null });
    expect(back.body.quota).toMatchObject({ rateLimitPerSecond: 7, dailyQuota: 5000 });
    expect((await getDomain()).body.quota).toMatchObject({ rateLimitPerSecond: 7, dailyQuota: 5000 });
  });

  it('refuses bad limits with 400 naming the field, account keys with 403, and an unknown domain with 404', async () => {
    const zero = await setLimits({ rateLimitPerSecond: 0 });
    expect(zero.status).toBe(400);
    expect(zero.body.errors).toEqual([{ field: 'rateLimitPerSecond', message: 'must be at least 1' }]);
    const text = await setLimits({ dailyQuota: 'lots' });
    expect(text.body.errors).toEqual([{ field: 'dailyQuota', message: 'must be a whole number or null' }]);
    const fraction = await setLimits({ dailyQuota: 2.5 });
    expect(fraction.body.errors).toEqual([{ field: 'dailyQuota', message: 'must be a whole number' }]);
    const empty = await setLimits({});
    expect(empty.status).toBe(400);
    expect(empty.body.errors).toEqual([{ field: 'body', message: 'must set rateLimitPerSecond, dailyQuota or both' }]);
    expect((await setLimits({ dailyQuota: 10 }, f.acct.auth)).status).toBe(403);
    expect((await setLimits({ dailyQuota: 10 }, admin, 'dom_00000000000000000000000000')).status).toBe(404);
  });

  it('answers 451 4.7.1 past the per-second rate, and takes the recipient in the next second', async () => {
    await setLimits({ rateLimitPerSecond: 2, dailyQuota: 1000 });
    const client = await loggedIn(f);
    // The new limit reaches the relay over pub/sub; each try runs in a second of its own.
    const replies = await eventually(
      async () => {
        clock.advance(1000);
        return recipients(client, f.from, 3, 'rate');
      },
      { until: (r) => r[2].code !== 250, message: 'the rate limit of 2 to reach the relay' },
    );
    expect(replies.map((r) => r.raw)).toEqual([expect.stringMatching(/^250 /), expect.stringMatching(/^250 /), RATE]);
    clock.advance(1000);
    expect((await client.command('RCPT TO:<rate-2@dest.example>')).code).toBe(250);
    const reply = await client.data(plainMessage(f.from));
    expect(reply.code).toBe(250);
    const stored = await f.c.mongo.collection('messages').findOne({ _id: reply.text.split(' ').pop() } as never);
    expect(stored?.envelope.to).toEqual(['rate-0@dest.example', 'rate-1@dest.example', 'rate-2@dest.example']);
    await client.quit();
  });

  it('answers 452 4.5.3 past the daily quota, counts no refused recipient, and starts again the next UTC day', async () => {
    await setLimits({ rateLimitPerSecond: 1000, dailyQuota: 3 });
    const client = await loggedIn(f);
    // Each try on a day of its own, so recipients of a try before the change do not count.
    const replies = await eventually(
      async () => {
        clock.advance(DAY_MS);
        return recipients(client, f.from, 5, 'daily');
      },
      { until: (r) => r[3].code !== 250, message: 'the daily quota of 3 to reach the relay' },
    );
    expect(replies.map((r) => r.code)).toEqual([250, 250, 250, 452, 452]);
    expect(replies[3].raw).toBe(DAILY);
    expect((await getDomain()).body.quota).toMatchObject({ dailyQuota: 3, sentToday: 3 });

    clock.advance(DAY_MS);
    expect((await getDomain()).body.quota).toMatchObject({ sentToday: 0 });
    expect((await client.command('RCPT TO:<next-day@dest.example>')).code).toBe(250);
    expect((await client.data(plainMessage(f.from))).code).toBe(250);
    await client.quit();
  });

  it('counts recipients of concurrent sessions against one quota: exactly the quota is accepted', async () => {
    await setLimits({ rateLimitPerSecond: 1000, dailyQuota: 10 });
    const clients = await Promise.all(Array.from({ length: 5 }, () => loggedIn(f)));
    // Wait for the new quota as above, on one session, then start the next day for all.
    await eventually(
      async () => {
        clock.advance(DAY_MS);
        return recipients(clients[0], f.from, 11, 'probe');
      },
      { until: (r) => r.filter((x) => x.code === 250).length === 10, message: 'the daily quota of 10 to reach the relay' },
    );
    clock.advance(DAY_MS);
    const replies = (await Promise.all(clients.map((c, i) => recipients(c, f.from, 4, `s${i}`)))).flat();
    expect(replies.filter((r) => r.code === 250)).toHaveLength(10);
    expect(replies.filter((r) => r.raw === DAILY)).toHaveLength(10);
    expect((await getDomain()).body.quota).toMatchObject({ sentToday: 10 });
    await Promise.all(clients.map((c) => c.quit()));
  });

  it('answers RCPT TO with 550 5.7.1 once the domain may no longer send, counting nothing', async () => {
    clock.advance(DAY_MS);
    const client = await loggedIn(f);
    expect((await client.command(`MAIL FROM:<${f.from}>`)).code).toBe(250);
    await f.c.mongo.collection('domains').updateOne({ _id: f.domain.id } as never, { $set: { status: 'suspended' }, $inc: { version: 1 } });
    await f.c.redis.publish(`${f.c.config.queuePrefix}:policy-invalidate`, JSON.stringify({ domainId: f.domain.id }));
    const before = (await getDomain()).body.quota.sentToday;
    const reply = await eventually(() => client.command('RCPT TO:<late@dest.example>'), { until: (r) => r.code === 550, message: 'the suspension to reach the relay' });
    expect(reply.raw).toMatch(/^550 5\.7\.1 Sending suspended for sender\.example\.com: /);
    const accepted = (await getDomain()).body.quota.sentToday - before;
    expect((await client.command('RCPT TO:<later@dest.example>')).code).toBe(550);
    expect((await getDomain()).body.quota.sentToday - before).toBe(accepted);
    await client.quit();
  });
});

describe('sending limits when Redis does not answer', () => {
  let proxy: RedisProxy;
  let f: RelayFixture;

  beforeAll(async () => {
    proxy = await TcpProxy.toTestRedis();
    f = await startRelayFixture({ REDIS_URL: proxy.redisUrl });
  });
  afterEach(() => proxy.restore());
  afterAll(async () => {
    await f.close();
    await proxy.close();
  });

  it('answers RCPT TO with 451 4.3.0 once the count misses its deadline, and the domain resource shows sentToday: null', async () => {
    const client = await loggedIn(f);
    expect((await client.command(`MAIL FROM:<${f.from}>`)).code).toBe(250);
    expect((await client.command('RCPT TO:<before@dest.example>')).code).toBe(250);
    proxy.stall();
    expect((await client.command('RCPT TO:<during@dest.example>')).raw).toBe(TEMPORARY);
    const res = await expectMatchesDocument(f.c.http, await request(f.c.http).get(`/v1/domains/${f.domain.id}`).set(f.acct.auth).expect(200));
    expect(res.body.quota.sentToday).toBeNull();
    proxy.restore();
    expect((await client.command('RCPT TO:<after@dest.example>')).code).toBe(250);
    await client.quit();
  });
});
