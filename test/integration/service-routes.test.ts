import request from 'supertest';
import { createTestContainer, type TestContainer } from '../support/services';

describe('service routes', () => {
  let c: TestContainer;
  beforeAll(async () => {
    c = await createTestContainer();
  });
  afterAll(async () => {
    await c.dispose();
  });

  it('answers /healthz and /readyz when both stores are up', async () => {
    await request(c.http).get('/healthz').expect(200, { status: 'ok' });
    const res = await request(c.http).get('/readyz').expect(200);
    expect(res.body.checks).toEqual({ mongodb: { status: 'ok' }, redis: { status: 'ok' } });
  });

  it('serves an OpenAPI 3.1 document of the routes that exist', async () => {
    const res = await request(c.http).get('/openapi.json').expect(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/v1/accounts', '/v1/domains', '/v1/domains/{id}', '/healthz', '/readyz']));
    expect(res.body.components.schemas.CreateDomain.properties.domain).toBeDefined();
  });

  it('exposes Prometheus metrics', async () => {
    await request(c.http).get('/healthz');
    const res = await request(c.http).get('/metrics').expect(200);
    expect(res.text).toContain('mailwarden_http_requests_total{method="GET",route="/healthz",status="200"}');
  });

  it('answers unknown routes with problem+json 404', async () => {
    const res = await request(c.http).get('/nope').expect(404);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
  });
});

describe('/readyz with Redis unreachable', () => {
  let c: TestContainer;
  beforeAll(async () => {
    // A port nothing listens on: the container must still start and report the outage.
    c = await createTestContainer({ REDIS_URL: 'redis://127.0.0.1:1' });
  });
  afterAll(async () => {
    await c.dispose();
  });

  it('answers 503 problem+json naming redis', async () => {
    const res = await request(c.http).get('/readyz').expect(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 503 });
    expect(res.body.detail).toContain('redis');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['redis']);
  });
});
