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

  it('names the store that is down without its error text', async () => {
    const res = await request(c.http).get('/readyz').expect(503);
    expect(res.body.errors).toEqual([{ field: 'redis', message: 'unreachable' }]);
    // Neither the driver's message nor the address it tried.
    expect(JSON.stringify(res.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|connect|redis is/i);
  });
});

describe('METRICS_PORT', () => {
  const get = (port: number, path: string) => request(`http://127.0.0.1:${port}`).get(path);

  describe('set apart from PORT', () => {
    let c: TestContainer;
    const running: Array<{ close(): Promise<void> }> = [];
    beforeAll(async () => {
      c = await createTestContainer({ HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', SMTP_HOST: '127.0.0.1', SMTP_PORT: '0' });
    });
    afterAll(async () => {
      for (const r of running.reverse()) await r.close();
      await c.dispose();
    });

    it('serves /metrics on its own port for the API role, and no longer on the API port', async () => {
      const api = await c.start('api');
      running.push(api);
      expect(api.metricsPort).toEqual(expect.any(Number));
      expect(api.metricsPort).not.toBe(api.port);

      await get(api.port, '/healthz').expect(200);
      const metrics = await get(api.metricsPort!, '/metrics').expect(200);
      expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
      expect(metrics.text).toContain('mailwarden_http_requests_total{method="GET",route="/healthz",status="200"}');

      const onApi = await get(api.port, '/metrics').expect(404);
      expect(onApi.headers['content-type']).toMatch(/^application\/problem\+json/);
      // The metrics port serves metrics and nothing else.
      await get(api.metricsPort!, '/healthz').expect(404);
      await get(api.metricsPort!, '/v1/domains').expect(404);
    });

    it('serves /metrics for the worker and relay roles, which have no HTTP port otherwise', async () => {
      const worker = await c.start('worker', { workers: { dnsConcurrency: 1 } });
      running.push(worker);
      const relay = await c.start('relay');
      running.push(relay);
      for (const port of [worker.metricsPort, relay.metricsPort]) {
        expect(port).toEqual(expect.any(Number));
        const res = await get(port!, '/metrics').expect(200);
        expect(res.text).toContain('# TYPE mailwarden_http_requests_total counter');
      }
    });
  });

  describe('unset, or equal to PORT', () => {
    it('keeps /metrics on the API port', async () => {
      const c = await createTestContainer({ HOST: '127.0.0.1', PORT: '0' });
      const api = await c.start('api');
      try {
        expect(api.metricsPort).toBeUndefined();
        await get(api.port, '/metrics').expect(200);
      } finally {
        await api.close();
        await c.dispose();
      }
      const port = api.port;
      const same = await createTestContainer({ HOST: '127.0.0.1', PORT: String(port), METRICS_PORT: String(port) });
      const again = await same.start('api');
      try {
        expect(again.metricsPort).toBeUndefined();
        await get(port, '/metrics').expect(200);
      } finally {
        await again.close();
        await same.dispose();
      }
    });
  });
});
