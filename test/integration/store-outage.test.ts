import request from 'supertest';
import { createAccount, type TestAccount } from '../support/factories';
import { eventually } from '../support/eventually';
import { createTestContainer, type TestContainer } from '../support/services';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * MongoDB (FerretDB here) going away under the API: a client hears 503 problem+json with
 * Retry-After, as for any temporary condition, never a 500, and the API answers again as soon
 * as the database is back.
 */
describe('the API while MongoDB is unreachable', () => {
  let proxy: TcpProxy & { mongodbUri: string };
  let c: TestContainer;
  let acct: TestAccount;

  beforeAll(async () => {
    proxy = await TcpProxy.toTestMongo();
    c = await createTestContainer({ MONGODB_URI: proxy.mongodbUri });
    acct = await createAccount(c.http, 'Outage Co');
  });

  afterAll(async () => {
    proxy.restore();
    await c.dispose();
    await proxy.close();
  });

  it('answers 503 problem+json with Retry-After, then 200 once it is back', async () => {
    const created = await request(c.http).post('/v1/domains').set(acct.auth).send({ domain: 'outage.example.test' }).expect(201);
    proxy.cut();
    const down = await request(c.http).get(`/v1/domains/${created.body.id}`).set(acct.auth);
    expect(down.status).toBe(503);
    expect(down.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(down.headers['retry-after']).toBe('5');
    expect(down.body).toMatchObject({ type: 'https://mailwarden.dev/problems/unavailable', status: 503 });
    // The detail names no driver, host or port.
    expect(down.body.detail).toBe('a store the service needs is unreachable right now; try again shortly');

    proxy.restore();
    await eventually(async () => (await request(c.http).get(`/v1/domains/${created.body.id}`).set(acct.auth)).status, { until: (s) => s === 200, timeoutMs: 30_000, message: 'the API to answer again' });
  });
});
