import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendWebhook, WebhookUrlRefusedError, type HostLookup } from '../../src/webhooks/ssrf-guard';

interface Received {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('webhook sender', () => {
  let server: http.Server;
  let port: number;
  const received: Received[] = [];
  const body = JSON.stringify({ type: 'domain.verified' });
  const toLoopback: HostLookup = async () => [{ address: '127.0.0.1', family: 4 }];
  const base = { body, headers: { 'webhook-id': 'msg_1' }, timeoutMs: 5000, maxResponseBytes: 1024 };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
        if (req.url === '/ok') {
          res.writeHead(202, { 'content-type': 'text/plain' }).end('accepted');
        } else if (req.url === '/redirect') {
          res.writeHead(302, { location: '/ok' }).end('moved');
        } else if (req.url === '/big') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          const block = 'x'.repeat(64 * 1024);
          // Far more than the reader takes; stops when the reader hangs up.
          const pump = () => {
            for (let i = 0; i < 256 && !res.destroyed; i++) if (!res.write(block)) return void res.once('drain', pump);
            res.end();
          };
          pump();
        }
        // '/hang' never answers.
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  beforeEach(() => {
    received.length = 0;
  });

  it.each([
    ['an IPv4 loopback literal', () => `http://127.0.0.1:${port}/ok`],
    ['an IPv6 loopback literal', () => `http://[::1]:${port}/ok`],
    ['a name resolving to loopback', () => `http://hooks.example:${port}/ok`],
  ])('refuses %s without allowPrivate and sends nothing', async (_label, url) => {
    const err = await sendWebhook({ ...base, url: url(), allowPrivate: false, lookup: toLoopback }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookUrlRefusedError);
    expect(received).toHaveLength(0);
  });

  it('refuses schemes other than http and https', async () => {
    const err = await sendWebhook({ ...base, url: 'file:///etc/passwd', allowPrivate: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookUrlRefusedError);
    expect((err as WebhookUrlRefusedError).reason).toMatch(/file:/);
  });

  it('delivers with allowPrivate and returns the status and a snippet', async () => {
    const res = await sendWebhook({ ...base, url: `http://127.0.0.1:${port}/ok`, allowPrivate: true });
    expect(res.status).toBe(202);
    expect(res.bodySnippet).toBe('accepted');
    expect(res.latencyMs).toBeGreaterThanOrEqual(0);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ method: 'POST', url: '/ok', body });
    expect(received[0].headers['content-type']).toBe('application/json');
    expect(received[0].headers['webhook-id']).toBe('msg_1');
  });

  it('connects to the vetted address while the Host header keeps the name', async () => {
    const res = await sendWebhook({ ...base, url: `http://hooks.example:${port}/ok`, allowPrivate: true, lookup: toLoopback });
    expect(res.status).toBe(202);
    expect(received[0].headers.host).toBe(`hooks.example:${port}`);
  });

  it('returns a redirect as is and does not follow it', async () => {
    const res = await sendWebhook({ ...base, url: `http://127.0.0.1:${port}/redirect`, allowPrivate: true });
    expect(res.status).toBe(302);
    expect(res.bodySnippet).toBe('moved');
    expect(received.map((r) => r.url)).toEqual(['/redirect']);
  });

  it('reads at most maxResponseBytes of the response', async () => {
    const res = await sendWebhook({ ...base, url: `http://127.0.0.1:${port}/big`, allowPrivate: true, maxResponseBytes: 100 });
    expect(res.status).toBe(200);
    expect(res.bodySnippet).toBe('x'.repeat(100));
  });

  it('gives up with a timeout when the subscriber never answers', async () => {
    const started = Date.now();
    const err = await sendWebhook({ ...base, url: `http://127.0.0.1:${port}/hang`, allowPrivate: true, timeoutMs: 300 }).catch(
      (e: unknown) => e,
    );
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(1500);
  });
});
