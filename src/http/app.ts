import express, { type Express } from 'express';
import { z } from 'zod';
import type { Logger } from '../logger';
import { authenticate, type Authenticator } from './auth';
import { healthRoutes, metricsRoutes, type Probe } from './health.router';
import type { HttpMetrics } from './metrics';
import { openApiDocument } from './openapi';
import { notFoundHandler, problemHandler } from './problem';
import { rateLimitPerApiKey, type RequestLimiter } from './rate-limit';
import { RouteTable } from './route';

export interface HttpAppOptions {
  logger: Logger;
  authenticator: Authenticator;
  /** The feature routes under /v1, built by the composition root. */
  routes: RouteTable[];
  /** The version /openapi.json names. */
  version: string;
  probes: Record<string, Probe>;
  metrics: HttpMetrics;
  /** False when METRICS_PORT puts /metrics on a port of its own (createMetricsApp). Default true. */
  serveMetrics?: boolean;
  /** The per-API-key request budget of /v1. */
  requestLimiter: RequestLimiter;
}

/** The express app: public service routes, then bearer-authenticated /v1; /openapi.json describes them all. */
export function createHttpApp(options: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', 'weak');
  app.set('query parser', 'simple');
  app.use(options.metrics.middleware);

  // Set below, once every declaration is known: the document describes its own route too.
  let document: object = {};
  const service = healthRoutes(options.probes, options.logger).route({
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    auth: 'public',
    responses: { 200: { description: 'OpenAPI 3.1', body: z.looseObject({ openapi: z.literal('3.1.0') }) } },
    handler: (_input, res) => void res.json(document),
  });
  // /metrics is documented only where it is served (the route/document test holds both ways).
  const metrics = (options.serveMetrics ?? true) ? [metricsRoutes(options.metrics.registry)] : [];
  const tables = [service, ...metrics, ...options.routes];
  document = openApiDocument(options.version, tables.flatMap((t) => t.declarations));

  app.use(service.router);
  for (const table of metrics) app.use(table.router);
  app.use('/v1', authenticate(options.authenticator), rateLimitPerApiKey(options.requestLimiter, options.logger));
  app.use(express.json({ limit: '100kb', type: ['application/json', 'application/*+json'] }));
  for (const table of options.routes) app.use(table.router);

  app.use(notFoundHandler);
  app.use(problemHandler(options.logger));
  return app;
}

/** The app of METRICS_PORT: /metrics and nothing else. */
export function createMetricsApp(metrics: HttpMetrics): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(metricsRoutes(metrics.registry).router);
  app.use(notFoundHandler);
  return app;
}
