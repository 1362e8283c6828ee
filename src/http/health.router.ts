import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Logger } from '../logger';
import { withDeadline } from '../deadline';
import { sendProblem } from './problem';
import { RouteTable } from './route';

export type Probe = () => Promise<void>;

const healthBody = z.strictObject({ status: z.literal('ok') }).meta({ id: 'Health' });
const readinessBody = z
  .strictObject({ status: z.literal('ready'), checks: z.record(z.string(), z.strictObject({ status: z.literal('ok') })) })
  .meta({ id: 'Readiness', description: 'every store answered; checks names each' });

/**
 * Liveness and readiness (every store answers). No auth. A store that is down is named,
 * never described: its error text (addresses, driver messages) goes to the log only.
 */
export function healthRoutes(probes: Record<string, Probe>, logger: Logger): RouteTable {
  return new RouteTable()
    .route({
      method: 'get',
      path: '/healthz',
      summary: 'Liveness',
      auth: 'public',
      responses: { 200: { description: 'alive', body: healthBody } },
      handler: (_input, res) => void res.json({ status: 'ok' }),
    })
    .route({
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: MongoDB and Redis answer',
      auth: 'public',
      responses: { 200: { description: 'ready', body: readinessBody } },
      errors: [503],
      handler: async (_input, res) => {
        const results = await Promise.all(
          Object.entries(probes).map(async ([name, probe]) => {
            try {
              await withDeadline(probe(), 1500, name);
              return [name, { status: 'ok' }] as const;
            } catch (err) {
              logger.warn({ store: name, err: (err as Error).message }, 'readiness: a store is down');
              return [name, { status: 'down' }] as const;
            }
          }),
        );
        const checks = Object.fromEntries(results);
        const down = results.filter(([, r]) => r.status !== 'ok').map(([n]) => n);
        res.setHeader('Cache-Control', 'no-store');
        if (down.length) {
          return sendProblem(res, 503, 'not_ready', `unreachable: ${down.join(', ')}`, down.map((n) => ({ field: n, message: 'unreachable' })));
        }
        res.json({ status: 'ready', checks });
      },
    });
}

/** Prometheus metrics: on the HTTP port, or on METRICS_PORT alone when that is set. No auth. */
export function metricsRoutes(registry: Registry): RouteTable {
  return new RouteTable().route({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    auth: 'public',
    responses: { 200: { description: 'text exposition format', body: z.string(), contentType: 'text/plain' } },
    handler: async (_input, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    },
  });
}
