import express, { type Express } from 'express';
import { z } from 'zod';
import type { Logger } from '../logger';
import { authenticate, type Authenticator } from './auth';
import { healthRoutes, type Probe } from './health.router';
import type { HttpMetrics } from './metrics';
import { openApiDocument } from './openapi';
import { notFoundHandler, problemHandler } from './problem';
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
  const service = healthRoutes(options.probes, options.metrics.registry).route({
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    auth: 'public',
    responses: { 200: { description: 'OpenAPI 3.1', body: z.looseObject({ openapi: z.literal('3.1.0') }) } },
    handler: (_input, res) => void res.json(document),
  });
  const tables = [service, ...options.routes];
  document = openApiDocument(options.version, tables.flatMap((t) => t.declarations));

  app.use(service.router);
  app.use('/v1', authenticate(options.authenticator));
  app.use(express.json({ limit: '100kb', type: ['application/json', 'application/*+json'] }));
  for (const table of options.routes) app.use(table.router);

  app.use(notFoundHandler);
  app.use(problemHandler(options.logger));
  return app;
}
