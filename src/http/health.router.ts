import { Router } from 'express';
import type { Registry } from 'prom-client';
import { sendProblem } from './problem';

export type Probe = () => Promise<void>;

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      () => (clearTimeout(t), resolve()),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}

/** Liveness, readiness (every store answers) and Prometheus metrics. No auth. */
export function healthRoutes(probes: Record<string, Probe>, registry: Registry): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  r.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      Object.entries(probes).map(async ([name, probe]) => {
        try {
          await withTimeout(probe(), 1500);
          return [name, { status: 'ok' }] as const;
        } catch (err) {
          return [name, { status: 'down', error: (err as Error).message }] as const;
        }
      }),
    );
    const checks = Object.fromEntries(results);
    const down = results.filter(([, r]) => r.status !== 'ok').map(([n]) => n);
    if (down.length) {
      res.setHeader('Cache-Control', 'no-store');
      return sendProblem(res, 503, 'not_ready', `unreachable: ${down.join(', ')}`, down.map((n) => ({ field: n, message: checks[n].error ?? 'down' })));
    }
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ready', checks });
  });
  r.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return r;
}
