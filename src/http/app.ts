import express, { type Express, type Router } from 'express';
import type { Logger } from '../logger';
import { authenticate, type Authenticator } from './auth';
import { healthRoutes, type Probe } from './health.router';
import type { HttpMetrics } from './metrics';
import { notFoundHandler, problemHandler } from './problem';
import { rateLimitPerApiKey, type RequestLimiter } from './rate-limit';

export interface HttpAppOptions {
  logger: Logger;
  authenticator: Authenticator;
  /** The feature routers under /v1, built by the composition root. */
  routers: Router[];
  /** The OpenAPI document served at /openapi.json. */
  openapi: object;
  probes: Record<string, Probe>;
  metrics: HttpMetrics;
  /** The per-API-key request budget of /v1. */
  requestLimiter: RequestLimiter;
}

/** The express app: public service routes, then bearer-authenticated /v1. */
export function createHttpApp(options: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', 'weak');
  app.set('query parser', 'simple');
  app.use(options.metrics.middleware);
  app.use(healthRoutes(options.probes, options.metrics.registry));
  app.get('/openapi.json', (_req, res) => void res.json(options.openapi));

  app.use('/v1', authenticate(options.authenticator), rateLimitPerApiKey(options.requestLimiter, options.logger));
  app.use(express.json({ limit: '100kb', type: ['application/json', 'application/*+json'] }));
  for (const router of options.routers) app.use(router);

  app.use(notFoundHandler);
  app.use(problemHandler(options.logger));
  return app;
}
