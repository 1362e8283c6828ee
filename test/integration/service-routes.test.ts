import request from 'supertest';
import { documentedRoutes, documentOf, expectMatchesDocument, schemaValidator, servedRoutes } from '../support/openapi';
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
    await expectMatchesDocument(c.http, await request(c.http).get('/healthz').expect(200, { status: 'ok' }));
    const res = await request(c.http).get('/readyz').expect(200);
    expect(res.body.checks).toEqual({ mongodb: { status: 'ok' }, redis: { status: 'ok' } });
    await expectMatchesDocument(c.http, res);
  });

  it('serves an OpenAPI 3.1 document of exactly the routes that exist', async () => {
    const res = await request(c.http).get('/openapi.json').expect(200);
    expect(res.body.openapi).toBe('3.1.0');
    const served = servedRoutes(c.http);
    // Guards the walk itself: it must see the routers mounted on the app, not just the app's own routes.
    expect(served).toEqual(expect.arrayContaining(['POST /v1/accounts', 'GET /v1/domains/{id}', 'POST /v1/domains/{id}/verify', 'GET /healthz']));
    expect(documentedRoutes(res.body)).toEqual(served);
    expect(res.body.components.schemas.CreateDomain.properties.domain).toBeDefined();
    await expectMatchesDocument(c.http, res);
  });

  it('documents schemas that compile as JSON Schema 2020-12, every $ref resolved', async () => {
    const doc = await documentOf(c.http);
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      expect(() => schemaValidator(doc, { $ref: `#/components/schemas/${name}` })).not.toThrow();
      expect(typeof schema).toBe('object');
    }
  });

  it('exposes Prometheus metrics', async () => {
    await request(c.http).get('/healthz');
    const res = await request(c.http).get('/metrics').expect(200);
    expect(res.text).toContain('mailwarden_http_requests_total{method="GET",route="/healthz",status="200"}');
    await expectMatchesDocument(c.http, res);
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
    await expectMatchesDocument(c.http, res);
  });
});
