import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Response } from 'express';
import { z } from 'zod';
import { NotFoundError, UnavailableError } from '../errors';
import { pathParam, RouteTable } from '../http/route';

/**
 * The owner console's headers. Everything comes from this origin (scripts and styles as
 * files, never inline), the page talks only to this API, and no other site may frame it.
 */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** The file names Vite gives the built assets: hashed, flat, no path. */
const ASSET_NAME = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.(?:js|css|svg|woff2)$/;

/**
 * Where `npm run build` writes the console (`dist/console` at the repository root), found
 * from this file both under ts (src/console/) and when built (dist/src/console/).
 */
export function defaultConsoleDir(): string {
  for (const up of [['..', '..'], ['..', '..', '..']]) {
    const root = join(__dirname, ...up);
    if (existsSync(join(root, 'package.json'))) return join(root, 'dist', 'console');
  }
  return join(__dirname, '..', '..', 'dist', 'console');
}

function secure(res: Response): void {
  res.set(CONSOLE_SECURITY_HEADERS);
}

/**
 * GET /console: the owner console, a single page built by `npm run build` (Vite) into `dir`.
 * It uses the public /v1 API with the owner's key; it adds no endpoint of its own.
 */
export function consoleRoutes(dir: string = defaultConsoleDir()): RouteTable {
  const index = join(dir, 'index.html');
  return new RouteTable()
    .route({
      method: 'get',
      path: '/console',
      summary: 'The owner console: a web page over this API',
      auth: 'public',
      responses: { 200: { description: 'the single-page app', body: z.string(), contentType: 'text/html' } },
      errors: [503],
      handler: (_input, res) => {
        secure(res);
        if (!existsSync(index)) throw new UnavailableError('the console is not built: run npm run build');
        // The page names hashed assets: it must be fetched again after each build.
        res.set('Cache-Control', 'no-cache');
        return new Promise<void>((resolve, reject) => res.sendFile(index, (err) => (err ? reject(err) : resolve())));
      },
    })
    .route({
      method: 'get',
      path: '/console/assets/:file',
      summary: "The console's scripts and styles (content-hashed names)",
      auth: 'public',
      params: { file: pathParam('console asset', z.string().regex(ASSET_NAME)) },
      responses: { 200: { description: 'a built script (text/javascript) or stylesheet (text/css)', body: z.string(), contentType: 'text/javascript' } },
      handler: ({ params }, res) => {
        secure(res);
        const file = join(dir, 'assets', params.file);
        if (!existsSync(file)) throw new NotFoundError('console asset');
        return new Promise<void>((resolve, reject) =>
          res.sendFile(file, { immutable: true, maxAge: '365d' }, (err) => (err ? reject(err) : resolve())),
        );
      },
    });
}
