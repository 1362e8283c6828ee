import { Router } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger';
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

/**
 * Liveness and readiness (every store answers). No auth. A store that is down is named,
 * never described: its error text (addresses, driver messages) goes to the log only.
 */
export function healthRoutes(probes: Record<string, Probe>, logger: Logger): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  r.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      Object.entries(probes).map(async ([name, probe]) => {
        try {
          await withTimeout(probe(), 1500);
          return [name, { status: 'ok' }] as const;
        } catch (err) {
          logger.warn({ store: name, err: (err as Error).message }, 'readiness: a store is down');
          return [name, { status: 'down' }] as const;
        }
      }),
    );
    const checks = Object.fromEntries(results);
    const down = results.filter(([, r]) => r.status !== 'ok').map(([n]) => n);
    if (down.length) {
      res.setHeader('Cache-Control', 'no-store');
      return sendProblem(res, 503, 'not_ready', `unreachable: ${down.join(', ')}`, down.map((n) => ({ field: n, message: 'unreachable' })));
    }
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ready', checks });
  });
  return r;
}

/** Prometheus metrics: on the HTTP port, or on METRICS_PORT alone when that is set. No auth. */
export function metricsRoutes(registry: Registry): Router {
  const r = Router();
  r.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return r;
}
