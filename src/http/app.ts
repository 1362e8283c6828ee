import express, { type Express, type Router } from 'express';
import type { Logger } from '../logger';
import { authenticate, type Authenticator } from './auth';
import { healthRoutes, metricsRoutes, type Probe } from './health.router';
import type { HttpMetrics } from './metrics';
import { notFoundHandler, problemHandler } from './problem';

export interface HttpAppOptions {
  logger: Logger;
  authenticator: Authenticator;
  /** The feature routers under /v1, built by the composition root. */
  routers: Router[];
  /** The OpenAPI document served at /openapi.json. */
  openapi: object;
  probes: Record<string, Probe>;
  metrics: HttpMetrics;
  /** False when METRICS_PORT puts /metrics on a port of its own (createMetricsApp). Default true. */
  serveMetrics?: boolean;
}

/** The express app: public service routes, then bearer-authenticated /v1. */
export function createHttpApp(options: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', 'weak');
  app.set('query parser', 'simple');
  app.use(options.metrics.middleware);
  app.use(healthRoutes(options.probes, options.logger));
  if (options.serveMetrics ?? true) app.use(metricsRoutes(options.metrics.registry));
  app.get('/openapi.json', (_req, res) => void res.json(options.openapi));

  app.use('/v1', authenticate(options.authenticator));
  app.use(express.json({ limit: '100kb', type: ['application/json', 'application/*+json'] }));
  for (const router of options.routers) app.use(router);

  app.use(notFoundHandler);
  app.use(problemHandler(options.logger));
  return app;
}

/** The app of METRICS_PORT: /metrics and nothing else. */
export function createMetricsApp(metrics: HttpMetrics): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(metricsRoutes(metrics.registry));
  app.use(notFoundHandler);
  return app;
}
