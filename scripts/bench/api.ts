/**
 * npm run bench:api — status polling (DESIGN §9): GET /v1/domains/:id through the real API
 * role (authentication, the per-key budget, the store read, the resource, the weak ETag),
 * next to a bare express route that answers the same JSON body, in the same run. The load
 * is autocannon's, run as a child process of its own (keep-alive connections, no pipelining).
 * Ends with `RESULT api rps=… baseline_rps=… ratio=…` (target ratio ≥ 0.5).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { benchContainer, result, round, runBench } from './lib';

const DURATION_S = Number(process.env.BENCH_API_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_API_CONNECTIONS ?? 32);
const ADMIN = 'Bearer bench-admin-key-0123456789abcdef';

interface LoadFigures {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  non2xx: number;
  errors: number;
}

/** Runs autocannon in its own process against `url` (never blocking this one, which serves). */
async function load(url: string, seconds: number, auth?: string): Promise<LoadFigures> {
  const bin = require.resolve('autocannon/autocannon.js');
  const args = [bin, '-j', '-c', String(CONNECTIONS), '-d', String(seconds), ...(auth ? ['-H', `Authorization=${auth}`] : []), url];
  const { stdout } = await promisify(execFile)(process.execPath, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const r = JSON.parse(stdout) as { requests: { average: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number; '2xx': number; duration: number };
  // Only 2xx answers count: a refused request is no throughput.
  return { rps: round(r['2xx'] / r.duration, 1), p50_ms: r.latency.p50, p99_ms: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
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
    // Warm-up of both paths (JIT, connection pools, caches), discarded.
    await load(url(api.port), 2, key);
    await load(url(bare.port), 2);
    const baseline = await load(url(bare.port), DURATION_S);
    const polled = await load(url(api.port), DURATION_S, key);
    process.stdout.write(
      `autocannon: ${CONNECTIONS} keep-alive connections for ${DURATION_S} s each, in a separate process; body ${JSON.stringify(body).length} bytes\n` +
        `bare express route   ${baseline.rps} req/s  p50 ${baseline.p50_ms} ms  p99 ${baseline.p99_ms} ms\n` +
        `GET /v1/domains/:id  ${polled.rps} req/s  p50 ${polled.p50_ms} ms  p99 ${polled.p99_ms} ms  (${polled.non2xx} non-2xx, ${polled.errors} errors)\n`,
    );
    await bare.close();
    await api.close();
    result('api', {
      rps: polled.rps,
      baseline_rps: baseline.rps,
      ratio: round(polled.rps / baseline.rps, 3),
      p99_ms: polled.p99_ms,
      baseline_p99_ms: baseline.p99_ms,
      non2xx: polled.non2xx + polled.errors,
    });
  } finally {
    await dispose();
  }
});
