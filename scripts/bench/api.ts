/**
 * npm run bench:api — status polling (DESIGN §9): GET /v1/domains/:id through the real API
 * role (authentication, the per-key budget, the store read, the resource, the weak ETag),
 * next to a bare express route that answers the same JSON body, in the same run. The load
 * comes from a separate process (http-load.ts): keep-alive clients, each waiting for its answer.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import { benchContainer, result, round, runBench } from './lib';

const REQUESTS = Number(process.env.BENCH_API_REQUESTS ?? 20000);
const CONCURRENCY = Number(process.env.BENCH_API_CONCURRENCY ?? 32);
const ADMIN = 'Bearer bench-admin-key-0123456789abcdef';

/** Runs the load client in its own process against `url` (never blocking this one, which serves); returns its RESULT figures. */
async function load(url: string, auth?: string): Promise<Record<string, number>> {
  const { stdout: out } = await promisify(execFile)(
    process.execPath,
    [join(__dirname, 'http-load.js'), url, String(REQUESTS), String(CONCURRENCY), ...(auth ? [auth] : [])],
    { encoding: 'utf8' },
  );
  const line = out.trim().split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`the load client printed no RESULT line: ${out}`);
  return Object.fromEntries(line.split(' ').slice(2).map((kv) => [kv.split('=')[0], Number(kv.split('=')[1])]));
}

function listen(app: express.Express): Promise<{ port: number; close(): Promise<void> }> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () =>
      resolve({ port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) }),
    );
  });
}

runBench(async () => {
  // The per-key budget is part of every request's path, but set high enough never to refuse the load.
  const { c, dispose } = await benchContainer('api', { PORT: '0', HOST: '127.0.0.1', API_RATE_PER_SECOND: '10000000', API_RATE_BURST: '10000000' });
  try {
    const api = await c.start('api');
    const acct = await request(c.http).post('/v1/accounts').set('Authorization', ADMIN).send({ name: 'Bench' }).expect(201);
    const key = `Bearer ${acct.body.apiKey}`;
    const domain = await request(c.http).post('/v1/domains').set('Authorization', key).send({ domain: 'poll.bench', dkim: { algorithm: 'ed25519' } }).expect(201);
    const body = (await request(c.http).get(`/v1/domains/${domain.body.id}`).set('Authorization', key).expect(200)).body;

    const bareApp = express();
    bareApp.set('etag', 'weak');
    bareApp.get('/v1/domains/:id', (_req, res) => void res.json(body));
    const bare = await listen(bareApp);

    const url = (port: number) => `http://127.0.0.1:${port}/v1/domains/${domain.body.id}`;
    await load(url(api.port), key); // warm-up of both paths, discarded
    await load(url(bare.port));
    const baseline = await load(url(bare.port));
    const polled = await load(url(api.port), key);
    process.stdout.write(
      `${REQUESTS} requests, ${CONCURRENCY} keep-alive clients in a separate process; body ${JSON.stringify(body).length} bytes\n` +
        `bare express route   ${baseline.req_per_s} req/s  p50 ${baseline.p50_ms} ms  p99 ${baseline.p99_ms} ms\n` +
        `GET /v1/domains/:id  ${polled.req_per_s} req/s  p50 ${polled.p50_ms} ms  p99 ${polled.p99_ms} ms  (${polled.failed} failed)\n`,
    );
    await bare.close();
    await api.close();
    result('api', {
      poll_per_s: polled.req_per_s,
      bare_per_s: baseline.req_per_s,
      ratio: round(polled.req_per_s / baseline.req_per_s, 3),
      p99_ms: polled.p99_ms,
      failed: polled.failed,
    });
  } finally {
    await dispose();
  }
});
