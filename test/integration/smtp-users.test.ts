import request from 'supertest';
import type { Redis } from 'ioredis';
import { verifyPassword } from '../../src/smtp-users/smtp-password';
import { eventually } from '../support/eventually';
import { createAccount, registerDomain, type TestAccount } from '../support/factories';
import { expectMatchesDocument } from '../support/openapi';
import { ADMIN_KEY, createTestContainer, type TestContainer } from '../support/services';

const admin = { Authorization: `Bearer ${ADMIN_KEY}` };
const fields = (res: request.Response) => (res.body.errors ?? []).map((e: { field: string }) => e.field);

describe('smtp users and allowed IPs', () => {
  let c: TestContainer;
  let alice: TestAccount;
  let bob: TestAccount;
  let n = 0;

  beforeAll(async () => {
    c = await createTestContainer();
    alice = await createAccount(c.http, 'Alice');
    bob = await createAccount(c.http, 'Bob');
  });
  afterAll(async () => {
    await c.dispose();
  });

  /** A fresh domain of `owner`, named uniquely within this file. */
  const newDomain = async (owner: TestAccount = alice): Promise<string> => (await registerDomain(c.http, owner, `d${++n}.example.com`, 'ed25519')).id;
  const createUser = (domainId: string, auth = alice.auth) => request(c.http).post(`/v1/domains/${domainId}/smtp-users`).set(auth);
  const storedUsers = (domainId: string) => c.mongo.collection('smtp_users').find({ domainId }).toArray();

  describe('SMTP users', () => {
    it('creates a user with a generated name and a password shown once, stored only as a scrypt hash', async () => {
      const domainId = await newDomain();
      const res = await createUser(domainId).send({}).expect(201);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({ username: expect.stringMatching(/^mw[a-z2-7]{16}$/), password: expect.any(String), createdAt: expect.any(String) });
      expect(res.body.password.length).toBeGreaterThanOrEqual(24);
      await expectMatchesDocument(c.http, res);

      const docs = await storedUsers(domainId);
      expect(docs).toHaveLength(1);
      expect(JSON.stringify(docs[0])).not.toContain(res.body.password);
      expect(docs[0]).toMatchObject({
        username: res.body.username,
        accountId: alice.id,
        slot: 0,
        passwordHash: { algorithm: 'scrypt', N: 16384, r: 8, p: 1, keyLength: 32 },
      });
      expect(Buffer.from(docs[0].passwordHash.salt, 'base64')).toHaveLength(16);

      const user = await c.stores.smtpUsers.findByUsername(res.body.username);
      expect(user).toMatchObject({ username: res.body.username, domainId, accountId: alice.id });
      expect(await verifyPassword(user!.passwordHash, res.body.password)).toBe(true);
      expect(await verifyPassword(user!.passwordHash, `${res.body.password}x`)).toBe(false);
      expect(await verifyPassword(user!.passwordHash, '')).toBe(false);
      expect(await c.stores.smtpUsers.findByUsername('mwaaaaaaaaaaaaaaaa')).toBeNull();
    });

    it('gives every user its own salt', async () => {
      const domainId = await newDomain();
      await createUser(domainId).expect(201);
      await createUser(domainId).expect(201);
      const [a, b] = await storedUsers(domainId);
      expect(a.passwordHash.salt).not.toBe(b.passwordHash.salt);
    });

    it.each([
      ['no body', undefined],
      ['{}', {}],
    ])('accepts %s', async (_name, body) => {
      const domainId = await newDomain();
      const req = createUser(domainId);
      await expectMatchesDocument(c.http, await (body === undefined ? req : req.send(body)).expect(201));
    });

    it.each([
      ['name', { name: 'ops' }],
      ['password', { password: 'chosen-by-me-123456789012' }],
      ['body', []],
      ['body', 'text'],
    ])('answers 400 naming %s to a bad body', async (field, body) => {
      const domainId = await newDomain();
      const req = createUser(domainId);
      const res = await (typeof body === 'string' ? req.set('Content-Type', 'application/json').send(JSON.stringify(body)) : req.send(body)).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(fields(res)).toContain(field);
      await expectMatchesDocument(c.http, res);
      expect(await storedUsers(domainId)).toHaveLength(0);
    });

    it('lists users without any password material', async () => {
      const domainId = await newDomain();
      const a = await createUser(domainId).expect(201);
      const b = await createUser(domainId).expect(201);
      const res = await request(c.http).get(`/v1/domains/${domainId}/smtp-users`).set(alice.auth).expect(200);
      expect(res.body).toEqual({
        data: [
          { username: a.body.username, createdAt: a.body.createdAt },
          { username: b.body.username, createdAt: b.body.createdAt },
        ],
      });
      expect(JSON.stringify(res.body)).not.toMatch(/password|hash|salt/i);
      await expectMatchesDocument(c.http, res);
    });

    it('answers 409 to the sixth user, and frees the slot on delete', async () => {
      const domainId = await newDomain();
      const names: string[] = [];
      for (let i = 0; i < 5; i++) names.push((await createUser(domainId).expect(201)).body.username);
      const res = await createUser(domainId).expect(409);
      expect(res.body).toMatchObject({ status: 409, detail: expect.stringMatching(/5 SMTP users/) });
      await expectMatchesDocument(c.http, res);
      expect(await storedUsers(domainId)).toHaveLength(5);

      await expectMatchesDocument(c.http, await request(c.http).delete(`/v1/domains/${domainId}/smtp-users/${names[2]}`).set(alice.auth).expect(204));
      const again = await createUser(domainId).expect(201);
      expect((await c.stores.smtpUsers.findByUsername(again.body.username))!.slot).toBe(2);
      await expectMatchesDocument(c.http, again);
      await createUser(domainId).expect(409);
    });

    it('never lets 10 concurrent creates exceed 5 users', async () => {
      const domainId = await newDomain();
      const results = await Promise.all(Array.from({ length: 10 }, () => createUser(domainId)));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([201, 201, 201, 201, 201, 409, 409, 409, 409, 409]);
      const docs = await storedUsers(domainId);
      expect(docs.map((d) => d.slot).sort()).toEqual([0, 1, 2, 3, 4]);
      const names = results.filter((r) => r.status === 201).map((r) => r.body.username);
      expect(new Set(names).size).toBe(5);
      expect(docs.map((d) => d.username).sort()).toEqual([...names].sort());
    });

    it('keeps usernames unique across domains', async () => {
      const names: string[] = [];
      for (const owner of [alice, bob]) {
        const domainId = await newDomain(owner);
        for (let i = 0; i < 3; i++) names.push((await createUser(domainId, owner.auth).expect(201)).body.username);
      }
      expect(new Set(names).size).toBe(6);
      const indexes = await c.mongo.collection('smtp_users').indexes();
      expect(indexes).toEqual(expect.arrayContaining([expect.objectContaining({ key: { username: 1 }, unique: true })]));
    });

    it('deletes a user: 204, then 404', async () => {
      const domainId = await newDomain();
      const keep = await createUser(domainId).expect(201);
      const gone = await createUser(domainId).expect(201);
      await request(c.http).delete(`/v1/domains/${domainId}/smtp-users/${gone.body.username}`).set(alice.auth).expect(204);
      const res = await request(c.http).delete(`/v1/domains/${domainId}/smtp-users/${gone.body.username}`).set(alice.auth).expect(404);
      expect(res.body.status).toBe(404);
      await request(c.http).delete(`/v1/domains/${domainId}/smtp-users/not-a-username`).set(alice.auth).expect(404);
      expect(await c.stores.smtpUsers.findByUsername(gone.body.username)).toBeNull();
      expect(await c.stores.smtpUsers.findByUsername(keep.body.username)).not.toBeNull();
    });

    it("answers 404 to a user of another of the account's domains", async () => {
      const a = await newDomain();
      const b = await newDomain();
      const user = await createUser(a).expect(201);
      await request(c.http).delete(`/v1/domains/${b}/smtp-users/${user.body.username}`).set(alice.auth).expect(404);
      expect(await c.stores.smtpUsers.findByUsername(user.body.username)).not.toBeNull();
    });

    it("answers 404 on every route for another account's domain, and 403 to the admin key", async () => {
      const domainId = await newDomain();
      const user = await createUser(domainId).expect(201);
      const res = await createUser(domainId, bob.auth).expect(404);
      expect(res.body).toMatchObject({ status: 404, detail: 'domain not found' });
      await request(c.http).get(`/v1/domains/${domainId}/smtp-users`).set(bob.auth).expect(404);
      await request(c.http).delete(`/v1/domains/${domainId}/smtp-users/${user.body.username}`).set(bob.auth).expect(404);
      await request(c.http).get(`/v1/domains/${domainId}/allowed-ips`).set(bob.auth).expect(404);
      await request(c.http).put(`/v1/domains/${domainId}/allowed-ips`).set(bob.auth).send({ cidrs: ['10.0.0.0/8'] }).expect(404);
      await createUser(domainId, admin).expect(403);
      await request(c.http).put(`/v1/domains/${domainId}/allowed-ips`).set(admin).send({ cidrs: [] }).expect(403);
      await request(c.http).get('/v1/domains/nope/smtp-users').set(alice.auth).expect(404);
      await request(c.http).post(`/v1/domains/dom_${'0'.repeat(26)}/smtp-users`).set(alice.auth).expect(404);
      await request(c.http).post(`/v1/domains/${domainId}/smtp-users`).expect(401);
      expect(await storedUsers(domainId)).toHaveLength(1);
      expect(await c.stores.smtpUsers.findByUsername(user.body.username)).not.toBeNull();
      const doc = await c.mongo.collection('domains').findOne({ _id: domainId } as never);
      expect(doc!.allowedIps).toEqual([]);
    });

    it('leaves no user behind when creates race the domain delete', async () => {
      const domainId = await newDomain();
      const creates = Array.from({ length: 5 }, () => createUser(domainId).then((r) => r.status));
      const remove = request(c.http).delete(`/v1/domains/${domainId}`).set(alice.auth).expect(204);
      const [statuses] = await Promise.all([Promise.all(creates), remove]);
      expect(statuses.every((s) => s === 201 || s === 404)).toBe(true);
      expect(await storedUsers(domainId)).toHaveLength(0);
    });

    it('tells a username clash from a taken slot', async () => {
      const domainId = await newDomain();
      const first = await createUser(domainId).expect(201);
      const doc = (await storedUsers(domainId))[0];
      const clash = { ...doc, _id: `smu_${'1'.repeat(26)}`, slot: 3 } as never;
      expect(await c.stores.smtpUsers.insert(clash)).toBe('username_taken');
      const taken = { ...doc, _id: `smu_${'2'.repeat(26)}`, username: 'mwbbbbbbbbbbbbbbbb' } as never;
      expect(await c.stores.smtpUsers.insert(taken)).toBe('slot_taken');
      expect((await storedUsers(domainId)).map((d) => d.username)).toEqual([first.body.username]);
    });

    it("removes the domain's users with the domain, and no one else's", async () => {
      const domainId = await newDomain();
      const other = await newDomain();
      const users = [(await createUser(domainId).expect(201)).body.username, (await createUser(domainId).expect(201)).body.username];
      const survivor = (await createUser(other).expect(201)).body.username;
      await request(c.http).delete(`/v1/domains/${domainId}`).set(alice.auth).expect(204);
      expect(await storedUsers(domainId)).toHaveLength(0);
      for (const u of users) expect(await c.stores.smtpUsers.findByUsername(u)).toBeNull();
      expect(await c.stores.smtpUsers.findByUsername(survivor)).not.toBeNull();
      await request(c.http).get(`/v1/domains/${domainId}/smtp-users`).set(alice.auth).expect(404);
    });
  });

  describe('allowed IPs', () => {
    let domainId: string;
    beforeAll(async () => {
      domainId = await newDomain();
    });
    const put = (body: unknown, id = domainId) => request(c.http).put(`/v1/domains/${id}/allowed-ips`).set(alice.auth).send(body as object);

    it('defaults to [] (nobody), on the route and in the domain resource', async () => {
      const id = await newDomain();
      expect((await request(c.http).get(`/v1/domains/${id}/allowed-ips`).set(alice.auth).expect(200)).body).toEqual({ cidrs: [] });
      expect((await request(c.http).get(`/v1/domains/${id}`).set(alice.auth).expect(200)).body.allowedIps).toEqual([]);
    });

    it('reads an old domain document without the field as []', async () => {
      const id = await newDomain();
      await c.mongo.collection('domains').updateOne({ _id: id } as never, { $unset: { allowedIps: '' } });
      expect((await request(c.http).get(`/v1/domains/${id}/allowed-ips`).set(alice.auth).expect(200)).body).toEqual({ cidrs: [] });
    });

    it.each([
      [['192.0.2.0/24'], ['192.0.2.0/24']],
      [['192.0.2.77/24'], ['192.0.2.0/24']],
      [['203.0.113.5'], ['203.0.113.5/32']],
      [['2001:DB8:0:0::1'], ['2001:db8::1/128']],
      [['2001:db8:abcd:12::/48'], ['2001:db8:abcd::/48']],
      [['::ffff:1.2.3.4/120'], ['1.2.3.0/24']],
      [['::ffff:10.0.0.1'], ['10.0.0.1/32']],
      [['10.0.0.1', '10.0.0.1/32', '::ffff:10.0.0.1', ' 10.0.0.1 '], ['10.0.0.1/32']],
      [['10.1.0.0/16', '192.0.2.0/24', '10.1.2.3/16', '2001:db8::/32'], ['10.1.0.0/16', '192.0.2.0/24', '2001:db8::/32']],
      [['10.9.9.9/8', '::ffff:10.0.0.0/104', '2001:db8:1::/32'], ['10.0.0.0/8', '2001:db8::/32']],
      [[], []],
    ])('stores %j as %j', async (cidrs, expected) => {
      const res = await put({ cidrs }).expect(200);
      expect(res.body).toEqual({ cidrs: expected });
      await expectMatchesDocument(c.http, res);
      const doc = await c.mongo.collection('domains').findOne({ _id: domainId } as never);
      expect(doc!.allowedIps).toEqual(expected);
      expect((await request(c.http).get(`/v1/domains/${domainId}/allowed-ips`).set(alice.auth).expect(200)).body).toEqual({ cidrs: expected });
    });

    it('bumps the domain version and shows the list on the domain resource', async () => {
      const id = await newDomain();
      const before = (await request(c.http).get(`/v1/domains/${id}`).set(alice.auth).expect(200)).body;
      await put({ cidrs: ['198.51.100.0/24'] }, id).expect(200);
      const after = (await request(c.http).get(`/v1/domains/${id}`).set(alice.auth).expect(200)).body;
      expect(after).toMatchObject({ version: before.version + 1, allowedIps: ['198.51.100.0/24'] });
    });

    it.each([
      ['each bad entry', { cidrs: ['192.0.2.0/24', 'example.com', '10.0.0.1/33', '2001:db8::/129', 'fe80::1%eth0', 7] }, ['cidrs.1', 'cidrs.2', 'cidrs.3', 'cidrs.4', 'cidrs.5']],
      ['a short IPv4 form', { cidrs: ['127.1'] }, ['cidrs.0']],
      ['an IPv4-compatible address', { cidrs: ['::1.2.3.4'] }, ['cidrs.0']],
      ['an empty entry', { cidrs: [''] }, ['cidrs.0']],
      ['networks wider than /8 (IPv4) or /32 (IPv6)', { cidrs: ['10.0.0.0/8', '0.0.0.0/0', '2001:db8::/32', '::/0', '::ffff:0:0/96', '2000::/3', '8.0.0.0/7'] }, ['cidrs.1', 'cidrs.3', 'cidrs.4', 'cidrs.5', 'cidrs.6']],
      ['51 distinct networks', { cidrs: Array.from({ length: 51 }, (_, i) => `10.0.${i}.0/24`) }, ['cidrs']],
      ['a string for the list', { cidrs: '10.0.0.0/8' }, ['cidrs']],
      ['a missing list', {}, ['cidrs']],
      ['an unknown field', { cidrs: [], note: 'x' }, ['note']],
      ['an array body', [], ['body']],
    ])('answers 400 to %s, naming %j, and keeps the list', async (_case, body, expected) => {
      await put({ cidrs: ['192.0.2.1'] }).expect(200);
      const res = await put(body).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(fields(res).sort()).toEqual(expected);
      await expectMatchesDocument(c.http, res);
      const doc = await c.mongo.collection('domains').findOne({ _id: domainId } as never);
      expect(doc!.allowedIps).toEqual(['192.0.2.1/32']);
    });

    it('says why a network is too wide, naming the entry, and tells no relay', async () => {
      const id = await newDomain();
      await put({ cidrs: ['192.0.2.0/24'] }, id).expect(200);
      const sub: Redis = c.redis.duplicate();
      try {
        const channel = `${c.config.queuePrefix}:allowlist-invalidate`;
        const received: string[] = [];
        sub.on('message', (ch: string, msg: string) => ch === channel && received.push(msg));
        await sub.subscribe(channel);
        const res = await put({ cidrs: ['192.0.2.0/24', '0.0.0.0/0', '::/0'] }, id).expect(400);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 400 });
        expect(res.body.errors).toEqual([
          expect.objectContaining({ field: 'cidrs.1', message: expect.stringMatching(/\/8 or longer for IPv4/) }),
          expect.objectContaining({ field: 'cidrs.2', message: expect.stringMatching(/\/32 or longer for IPv6/) }),
        ]);
        // A later, valid PUT is the first message: the refused one sent none.
        await put({ cidrs: ['192.0.2.0/24', '10.0.0.0/8'] }, id).expect(200);
        for (let i = 0; i < 50 && received.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
        expect(received).toEqual([JSON.stringify({ domainId: id })]);
      } finally {
        await sub.quit();
      }
      const doc = await c.mongo.collection('domains').findOne({ _id: id } as never);
      expect(doc!.allowedIps).toEqual(['192.0.2.0/24', '10.0.0.0/8']);
    });

    it('accepts 50 distinct networks, and 51 entries that are 50 after deduplication', async () => {
      const fifty = Array.from({ length: 50 }, (_, i) => `10.0.${i}.0/24`);
      expect((await put({ cidrs: fifty }).expect(200)).body.cidrs).toHaveLength(50);
      expect((await put({ cidrs: [...fifty, '10.0.0.9/24'] }).expect(200)).body.cidrs).toEqual(fifty);
    });

    it('tells the relays on the allowlist-invalidate channel', async () => {
      const id = await newDomain();
      const sub: Redis = c.redis.duplicate();
      try {
        const channel = `${c.config.queuePrefix}:allowlist-invalidate`;
        const received: string[] = [];
        sub.on('message', (ch: string, msg: string) => ch === channel && received.push(msg));
        await sub.subscribe(channel);
        await put({ cidrs: ['192.0.2.0/24'] }, id).expect(200);
        await put({ cidrs: ['bad'] }, id).expect(400);
        await request(c.http).put(`/v1/domains/${id}/allowed-ips`).set(bob.auth).send({ cidrs: [] }).expect(404);
        await put({ cidrs: [] }, id).expect(200);
        await eventually(() => received, { until: (r) => r.length >= 2, timeoutMs: 5000, message: 'two invalidation messages' });
        expect(received.map((m) => JSON.parse(m))).toEqual([{ domainId: id }, { domainId: id }]);
      } finally {
        await sub.quit();
      }
    });
  });

  it('documents the routes in /openapi.json', async () => {
    const res = await request(c.http).get('/openapi.json').expect(200);
    await expectMatchesDocument(c.http, res);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining(['/v1/domains/{id}/smtp-users', '/v1/domains/{id}/smtp-users/{username}', '/v1/domains/{id}/allowed-ips']),
    );
    expect(res.body.components.schemas.AllowedIps.required).toContain('cidrs');
  });
});
