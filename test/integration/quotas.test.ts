import { Redis } from 'ioredis';
import request from 'supertest';
import { ManualClock } from '../../src/clock';
import { UnavailableError } from '../../src/errors';
import { AccountQuota } from '../../src/limits/account-quota';
import { createAccount, registerDomain, type TestAccount } from '../support/factories';
import { expectMatchesDocument } from '../support/openapi';
import { TcpProxy, type RedisProxy } from '../support/tcp-proxy';
import { createTestContainer, type TestContainer } from '../support/services';

const PROBLEM = /^application\/problem\+json/;

describe('quotas per account', () => {
  let c: TestContainer;
  let clock: ManualClock;

  beforeAll(async () => {
    // The token buckets read this clock: no refill happens unless a test moves it.
    clock = new ManualClock(new Date('2025-06-01T12:00:00Z'));
    c = await createTestContainer({ MAX_DOMAINS_PER_ACCOUNT: '3', API_RATE_PER_SECOND: '20', API_RATE_BURST: '50' }, { clock });
  });
  afterAll(async () => {
    await c.dispose();
  });
  // A full bucket for every key at the start of each test (the admin key creates accounts).
  beforeEach(() => clock.advance(60_000));

  const post = (acct: TestAccount, domain: string) => request(c.http).post('/v1/domains').set(acct.auth).send({ domain, dkim: { algorithm: 'ed25519' } });
  const hook = (acct: TestAccount, n: number) =>
    request(c.http).post('/v1/webhooks').set(acct.auth).send({ url: `https://hooks.example.net/${n}`, events: ['domain.verified'] });

  describe('domains (MAX_DOMAINS_PER_ACCOUNT)', () => {
    it('refuses the domain past the cap with 409 problem+json, and takes one again after a delete', async () => {
      const acct = await createAccount(c.http, 'Capped');
      const made = [];
      for (const n of [1, 2, 3]) made.push(await registerDomain(c.http, acct, `d${n}.capped.example`, 'ed25519'));
      const res = await expectMatchesDocument(c.http, await post(acct, 'd4.capped.example').expect(409));
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body).toMatchObject({
        type: 'https://mailwarden.dev/problems/quota_exceeded',
        status: 409,
        detail: 'the account already has 3 domains, the most it may have; delete one first',
      });
      expect((await request(c.http).get('/v1/domains').set(acct.auth).expect(200)).body.data).toHaveLength(3);
      // Another account is not affected.
      const other = await createAccount(c.http, 'Uncapped');
      await post(other, 'd4.capped.example').expect(201);

      await request(c.http).delete(`/v1/domains/${made[0].id}`).set(acct.auth).expect(204);
      await post(acct, 'd4.capped.example').expect(201);
      await post(acct, 'd5.capped.example').expect(409);
    });

    it('holds the cap when many registrations of one account race', async () => {
      const acct = await createAccount(c.http, 'Racer');
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => post(acct, `r${i}.racer.example`)));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([201, 201, 201, 409, 409, 409, 409, 409, 409, 409]);
      expect(await c.stores.domains.countForAccount(acct.id)).toBe(3);
    });
  });

  describe('the domain counter in Redis', () => {
    const counter = (acct: TestAccount) => `${c.config.queuePrefix}:quota:domains:${acct.id}`;

    it('is seeded from MongoDB when Redis has lost it', async () => {
      const acct = await createAccount(c.http, 'Forgotten');
      for (const n of [1, 2, 3]) await post(acct, `d${n}.forgotten.example`).expect(201);
      expect(await c.redis.get(counter(acct))).toBe('3');
      await c.redis.del(counter(acct));
      await post(acct, 'd4.forgotten.example').expect(409);
      expect(await c.redis.get(counter(acct))).toBe('3');
    });

    it('undoes a registration that an undercounting counter let through (MongoDB is counted again)', async () => {
      const acct = await createAccount(c.http, 'Undercounted');
      for (const n of [1, 2, 3]) await post(acct, `d${n}.under.example`).expect(201);
      // As after a seed that raced inserts in flight.
      await c.redis.set(counter(acct), '1');
      const res = await post(acct, 'd4.under.example').expect(409);
      expect(res.body.type).toBe('https://mailwarden.dev/problems/quota_exceeded');
      expect(await c.stores.domains.countForAccount(acct.id)).toBe(3);
      expect(await c.stores.domains.findByName(acct.id, 'd4.under.example')).toBeNull();
      // The counter was dropped, so the next registration counts MongoDB again.
      await post(acct, 'd5.under.example').expect(409);
      expect(await c.redis.get(counter(acct))).toBe('3');
    });

    it('gives the slot back when the insert fails (a domain registered twice)', async () => {
      const acct = await createAccount(c.http, 'Duplicates');
      await post(acct, 'd1.dup.example').expect(201);
      await post(acct, 'd2.dup.example').expect(201);
      for (let i = 0; i < 4; i++) expect((await post(acct, 'd1.dup.example').expect(409)).body.detail).toMatch(/already registered/);
      await post(acct, 'd3.dup.example').expect(201);
    });

    it('fails with UnavailableError (503), never a crash, when Redis cannot be reached', async () => {
      const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
      try {
        const quota = new AccountQuota(dead, 'x');
        const never = () => Promise.reject(new Error('must not be called'));
        const err = await quota.admit('domains', 'acc_1', 3, { count: never, create: never, undo: never }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UnavailableError);
      } finally {
        dead.disconnect();
      }
    });
  });

  describe('webhooks (MAX_WEBHOOKS_PER_ACCOUNT, default 25)', () => {
    it('refuses the 26th subscription with 409 problem+json', async () => {
      const acct = await createAccount(c.http, 'Hooks');
      const first = (await hook(acct, 0).expect(201)).body;
      for (let n = 1; n < 25; n++) await hook(acct, n).expect(201);
      const res = await expectMatchesDocument(c.http, await hook(acct, 25).expect(409));
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body).toMatchObject({ type: 'https://mailwarden.dev/problems/quota_exceeded', detail: expect.stringContaining('25 webhooks') });
      await request(c.http).delete(`/v1/webhooks/${first.id}`).set(acct.auth).expect(204);
      await hook(acct, 25).expect(201);
    });

    it('holds the cap when many creations of one account race', async () => {
      const acct = await createAccount(c.http, 'Hook racer');
      const results = await Promise.all(Array.from({ length: 32 }, (_, n) => hook(acct, n)));
      const statuses = results.map((r) => r.status);
      expect([statuses.filter((s) => s === 201).length, statuses.filter((s) => s === 409).length]).toEqual([25, 7]);
      expect((await request(c.http).get('/v1/webhooks').set(acct.auth).expect(200)).body.data).toHaveLength(25);
    });
  });

  describe('POST /v1/webhooks/:id/test (5 a minute per subscription)', () => {
    it('answers the sixth test of a minute with 429 and Retry-After, per subscription', async () => {
      const acct = await createAccount(c.http, 'Tester');
      const a = (await hook(acct, 1).expect(201)).body;
      const b = (await hook(acct, 2).expect(201)).body;
      for (let i = 0; i < 5; i++) await request(c.http).post(`/v1/webhooks/${a.id}/test`).set(acct.auth).expect(202);
      const res = await expectMatchesDocument(c.http, await request(c.http).post(`/v1/webhooks/${a.id}/test`).set(acct.auth).expect(429));
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body).toMatchObject({ type: 'https://mailwarden.dev/problems/rate_limited', status: 429 });
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
      await request(c.http).post(`/v1/webhooks/${b.id}/test`).set(acct.auth).expect(202);
    });
  });

  describe('API requests (a token bucket per API key: API_RATE_PER_SECOND 20, API_RATE_BURST 50)', () => {
    const list = (acct: TestAccount) => request(c.http).get('/v1/webhooks').set(acct.auth);

    it('lets a burst of 50 through, then answers 429 with Retry-After until tokens come back', async () => {
      const acct = await createAccount(c.http, 'Chatty');
      const quiet = await createAccount(c.http, 'Quiet');
      for (let i = 0; i < 50; i++) await list(acct).expect(200);
      const res = await expectMatchesDocument(c.http, await list(acct).expect(429));
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body).toMatchObject({ type: 'https://mailwarden.dev/problems/rate_limited', status: 429, detail: expect.stringContaining('20 requests a second, bursts of 50') });
      // Every route under /v1 spends from the same bucket, and another key has its own.
      await request(c.http).post('/v1/webhooks').set(acct.auth).send({}).expect(429);
      await list(quiet).expect(200);

      clock.advance(50); // one token at 20 a second
      await list(acct).expect(200);
      await list(acct).expect(429);

      clock.advance(3_600_000); // a full bucket holds 50, however long the key was idle
      for (let i = 0; i < 50; i++) await list(acct).expect(200);
      await list(acct).expect(429);
    });

    it('spends the last tokens atomically when requests of one key arrive at once', async () => {
      const acct = await createAccount(c.http, 'Concurrent');
      const results = await Promise.all(Array.from({ length: 80 }, () => list(acct)));
      const statuses = results.map((r) => r.status);
      expect([statuses.filter((s) => s === 200).length, statuses.filter((s) => s === 429).length]).toEqual([50, 30]);
    });

    it('names the bucket in Redis after a hash, never the API key', async () => {
      const acct = await createAccount(c.http, 'Hashed');
      await list(acct).expect(200);
      const keys = await c.redis.keys(`${c.config.queuePrefix}:tb:*`);
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) expect(k).not.toContain(acct.apiKey);
    });
  });
});

describe('quotas when Redis does not answer', () => {
  let proxy: RedisProxy;
  let c: TestContainer;

  beforeAll(async () => {
    proxy = await TcpProxy.toTestRedis();
    c = await createTestContainer({ REDIS_URL: proxy.redisUrl });
  });
  afterAll(async () => {
    proxy.restore();
    await c.dispose();
    await proxy.close();
  });

  it('lets reads through past the budget deadline, and answers a registration 503 problem+json', async () => {
    const acct = await createAccount(c.http, 'Stalled');
    proxy.stall();
    try {
      await request(c.http).get('/v1/webhooks').set(acct.auth).expect(200);
      const res = await expectMatchesDocument(
        c.http,
        await request(c.http).post('/v1/domains').set(acct.auth).send({ domain: 'stalled.example', dkim: { algorithm: 'ed25519' } }).expect(503),
      );
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body.detail).toBe('the domains quota cannot be checked right now; try again');
    } finally {
      proxy.restore();
    }
    await request(c.http).post('/v1/domains').set(acct.auth).send({ domain: 'stalled.example', dkim: { algorithm: 'ed25519' } }).expect(201);
  });
});
