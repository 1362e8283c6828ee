import { createHash } from 'node:crypto';
import request from 'supertest';
import { createAccount } from '../support/factories';
import { expectMatchesDocument } from '../support/openapi';
import { ADMIN_KEY, createTestContainer, type TestContainer } from '../support/services';

describe('accounts and API keys', () => {
  let c: TestContainer;
  beforeAll(async () => {
    c = await createTestContainer();
  });
  afterAll(async () => {
    await c.dispose();
  });

  it('creates an account with a one-time 32-byte base64url key stored only as SHA-256', async () => {
    const res = await request(c.http).post('/v1/accounts').set('Authorization', `Bearer ${ADMIN_KEY}`).send({ name: 'Acme' }).expect(201);
    expect(res.body).toEqual({ id: expect.stringMatching(/^acc_/), name: 'Acme', apiKey: expect.any(String), createdAt: expect.any(String) });
    await expectMatchesDocument(c.http, res);
    const secret = res.body.apiKey.replace(/^mwk_/, '');
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);

    const stored = await c.mongo.collection('accounts').findOne({ _id: res.body.id } as never);
    expect(stored).not.toBeNull();
    expect(JSON.stringify(stored)).not.toContain(res.body.apiKey);
    expect(stored!.apiKeyHash).toBe(createHash('sha256').update(res.body.apiKey).digest('hex'));

    // The key works for its account.
    await request(c.http).get('/v1/domains').set('Authorization', `Bearer ${res.body.apiKey}`).expect(200);
  });

  it.each([
    ['no header', undefined],
    ['a non-bearer scheme', 'Basic YTpi'],
    ['an unknown key', 'Bearer mwk_nope'],
    ['an empty bearer', 'Bearer '],
  ])('answers 401 problem+json to %s', async (_label, header) => {
    const req = request(c.http).get('/v1/domains');
    if (header !== undefined) req.set('Authorization', header);
    const res = await req.expect(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 401, title: 'Unauthorized' });
    await expectMatchesDocument(c.http, res);
  });

  it('answers 403 when an account key calls an admin route', async () => {
    const acct = await createAccount(c.http);
    const res = await request(c.http).post('/v1/accounts').set(acct.auth).send({ name: 'Mallory' }).expect(403);
    expect(res.body).toMatchObject({ status: 403 });
    await expectMatchesDocument(c.http, res);
  });

  it('answers 403 when the admin key calls an account route', async () => {
    await request(c.http).get('/v1/domains').set('Authorization', `Bearer ${ADMIN_KEY}`).expect(403);
  });

  it.each([
    [{}, 'name'],
    [{ name: '' }, 'name'],
    [{ name: 5 }, 'name'],
    [{ name: 'ok', role: 'admin' }, 'role'],
  ])('rejects the body %j naming %s', async (body, field) => {
    const res = await request(c.http).post('/v1/accounts').set('Authorization', `Bearer ${ADMIN_KEY}`).send(body).expect(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    await expectMatchesDocument(c.http, res);
  });
});
