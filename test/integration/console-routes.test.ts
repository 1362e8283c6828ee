import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import { consoleRoutes } from '../../src/console/console.router';
import { problemHandler } from '../../src/http/problem';
import { createLogger } from '../../src/logger';
import { expectMatchesDocument } from '../support/openapi';
import { createTestContainer, type TestContainer } from '../support/services';

describe('GET /console: the page and its headers', () => {
  let c: TestContainer;
  beforeAll(async () => {
    c = await createTestContainer();
  });
  afterAll(async () => {
    await c.dispose();
  });

  it('serves the single-page app with a strict CSP, framing denied, and no inline script or style', async () => {
    const res = await request(c.http).get('/console').expect(200);
    await expectMatchesDocument(c.http, res);
    expect(res.type).toBe('text/html');
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    // Only files from this origin: no inline <script> body, no <style>, no style attribute, no other host.
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|style=|\/\/[a-z]/i);
    expect(res.text).toMatch(/<script type="module" crossorigin src="\/console\/assets\/[^"]+\.js"><\/script>/);
  });

  it('serves the built assets with the same headers, and nothing outside them', async () => {
    const page = await request(c.http).get('/console').expect(200);
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(page.text)![1];
    const asset = await request(c.http).get(script).expect(200);
    expect(asset.type).toBe('text/javascript');
    expect(asset.headers['content-security-policy']).toBe(page.headers['content-security-policy']);
    expect(asset.headers['cache-control']).toContain('immutable');

    for (const path of ['/console/assets/nope.js', '/console/assets/..%2Fconsole%2Findex.html', '/console/assets/%2E%2E%2F%2E%2E%2Fpackage.json']) {
      const res = await request(c.http).get(path).expect(404);
      expect(res.type).toBe('application/problem+json');
    }
  });

  it('answers 503 problem+json, still with its headers, when the console was not built', async () => {
    const app = express();
    app.use(consoleRoutes(mkdtempSync(join(tmpdir(), 'mw-no-console-'))).router);
    app.use(problemHandler(createLogger('silent')));
    const res = await request(app).get('/console').expect(503);
    expect(res.type).toBe('application/problem+json');
    expect(res.body.detail).toContain('npm run build');
    expect(res.headers['x-frame-options']).toBe('DENY');
  });

  it('sets its headers on the console routes only', async () => {
    const res = await request(c.http).get('/healthz').expect(200);
    expect(res.headers['content-security-policy']).toBeUndefined();
    expect(res.headers['x-frame-options']).toBeUndefined();
  });
});
