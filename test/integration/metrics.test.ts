import { createServer, type Server } from 'node:http';
import request from 'supertest';
import type { RunningRelayRole, RunningWorkerRole } from '../../src/container';
import { DnsFixture } from '../support/dns-fixture';
import { eventually } from '../support/eventually';
import { admittedSession } from '../support/relay-fixture';
import { createAccount, registerDomain, type TestAccount } from '../support/factories';
import { createTestContainer, type TestContainer } from '../support/services';

/**
 * Every mailwarden_* metric is exposed on METRICS_PORT by each role, and the ones a check
 * and a message go through move when they do (README "Metrics").
 */

const INCLUDE = '_spf.mw.test';

const METRIC_NAMES = [
  'mailwarden_http_requests_total',
  'mailwarden_http_request_duration_seconds',
  'mailwarden_domains',
  'mailwarden_checks_total',
  'mailwarden_check_duration_seconds',
  'mailwarden_dns_queries_total',
  'mailwarden_relay_sessions_total',
  'mailwarden_relay_replies_total',
  'mailwarden_messages_total',
  'mailwarden_recipients_total',
  'mailwarden_delivery_latency_seconds',
  'mailwarden_queue_jobs',
  'mailwarden_queue_oldest_waiting_age_seconds',
  'mailwarden_webhook_deliveries_total',
  'mailwarden_suppressions_added_total',
];

/** One sample of the exposition text: `name{labels} value`, labels in any order; 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return 0;
}

describe('metrics', () => {
  let dns: DnsFixture;
  let c: TestContainer;
  let workers: RunningWorkerRole;
  let relay: RunningRelayRole;
  let acct: TestAccount;
  const scrape = async (port: number) => (await request(`http://127.0.0.1:${port}`).get('/metrics').expect(200)).text;

  beforeAll(async () => {
    dns = await DnsFixture.withInclude(INCLUDE);
    c = await createTestContainer(
      {
        ...dns.fastLifecycleEnv(INCLUDE),
        APPROVAL_MODE: 'auto',
        SMTP_PORT: '0',
        SMTP_HOST: '127.0.0.1',
        HOST: '127.0.0.1',
        METRICS_PORT: '0',
        DELIVERY_MODE: 'capture',
        // The webhook receiver of the last test listens on 127.0.0.1.
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_RETRY_BASE_MS: '100',
      },
      { jitter: (ms) => ms, metricsSourceCacheMs: 0 },
    );
    workers = await c.start('worker', { workers: { dnsConcurrency: 2 } });
    relay = await c.start('relay');
    acct = await createAccount(c.http);
  });
  afterAll(async () => {
    await relay?.close();
    await workers?.close();
    await c?.dispose();
    await dns?.close();
  });

  it('exposes every mailwarden_* metric on the metrics port of each role', async () => {
    for (const port of [workers.metricsPort!, relay.metricsPort!]) {
      const text = await scrape(port);
      for (const name of METRIC_NAMES) expect(text).toContain(`# TYPE ${name} `);
      // The queue gauges are read from Redis on scrape: one series per queue.
      for (const queue of ['sweep', 'dns-check', 'delivery', 'webhook', 'webhook-dispatch']) {
        expect(text).toContain(`mailwarden_queue_oldest_waiting_age_seconds{queue="${queue}"}`);
        expect(text).toContain(`mailwarden_queue_jobs{queue="${queue}",state="waiting"}`);
      }
    }
  });

  it('moves the check, DNS and domain metrics after a check, and the message metrics after a message', async () => {
    const before = await scrape(workers.metricsPort!);
    const d = await registerDomain(c.http, acct, 'shop.example.test');
    for (const r of d.records) dns.publish(r.name, 'TXT', [r.strings]);
    await eventually(async () => (await request(c.http).get(`/v1/domains/${d.id}`).set(acct.auth)).body, {
      until: (x) => x.sending?.allowed === true,
      message: 'the domain to verify',
    });
    const afterCheck = await scrape(workers.metricsPort!);
    expect(sample(afterCheck, 'mailwarden_checks_total', { verdict: 'pass' })).toBeGreaterThan(sample(before, 'mailwarden_checks_total', { verdict: 'pass' }));
    expect(sample(afterCheck, 'mailwarden_check_duration_seconds_count', { verdict: 'pass' })).toBeGreaterThan(0);
    expect(sample(afterCheck, 'mailwarden_dns_queries_total', { outcome: 'answer' })).toBeGreaterThan(sample(before, 'mailwarden_dns_queries_total', { outcome: 'answer' }));
    expect(sample(afterCheck, 'mailwarden_domains', { status: 'verified' })).toBe(1);
    expect(sample(before, 'mailwarden_domains', { status: 'verified' })).toBe(0);

    await request(c.http).put(`/v1/domains/${d.id}/allowed-ips`).set(acct.auth).send({ cidrs: ['127.0.0.1'] }).expect(200);
    const user = (await request(c.http).post(`/v1/domains/${d.id}/smtp-users`).set(acct.auth).send({}).expect(201)).body;
    const { client } = await admittedSession(relay.port);
    expect((await client.login(user.username, user.password)).code).toBe(235);
    const reply = await client.send('app@shop.example.test', ['someone@dest.example'], 'From: App <app@shop.example.test>\r\nTo: someone@dest.example\r\nSubject: hi\r\n\r\nHello.\r\n');
    expect(reply.code).toBe(250);
    const queueId = reply.text.split(' ').pop()!;
    await client.quit();
    await eventually(async () => (await request(c.http).get(`/v1/messages/${queueId}`).set(acct.auth)).body, {
      until: (m) => m.status === 'delivered',
      message: 'the message to be delivered',
    });

    const afterMessage = await scrape(relay.metricsPort!);
    expect(sample(afterMessage, 'mailwarden_relay_sessions_total', { listener: 'smtp' })).toBeGreaterThan(0);
    expect(sample(afterMessage, 'mailwarden_relay_replies_total', { code: '250' })).toBeGreaterThan(sample(before, 'mailwarden_relay_replies_total', { code: '250' }));
    expect(sample(afterMessage, 'mailwarden_relay_replies_total', { code: '235' })).toBeGreaterThan(0);
    expect(sample(afterMessage, 'mailwarden_messages_total', { status: 'queued' })).toBe(1);
    expect(sample(afterMessage, 'mailwarden_messages_total', { status: 'delivered' })).toBe(1);
    expect(sample(afterMessage, 'mailwarden_recipients_total', { outcome: 'delivered' })).toBe(1);
    expect(sample(afterMessage, 'mailwarden_delivery_latency_seconds_count')).toBe(1);

    await request(c.http).put('/v1/suppressions/gone@dest.example').set(acct.auth).send({}).expect(201);
    const afterSuppression = await scrape(relay.metricsPort!);
    expect(sample(afterSuppression, 'mailwarden_suppressions_added_total', { reason: 'manual' })).toBe(1);
  });

  it('moves the webhook delivery metric by outcome: delivered for a 200, retrying for a 503', async () => {
    const statuses = [503, 200];
    const receiver: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(statuses.shift() ?? 200).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const before = await scrape(workers.metricsPort!);
      const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
      const hook = (await request(c.http).post('/v1/webhooks').set(acct.auth).send({ url, events: ['domain.verified'] }).expect(201)).body;
      await request(c.http).post(`/v1/webhooks/${hook.id}/test`).set(acct.auth).expect(202);
      const after = await eventually(() => scrape(workers.metricsPort!), {
        until: (text) => sample(text, 'mailwarden_webhook_deliveries_total', { outcome: 'delivered' }) > sample(before, 'mailwarden_webhook_deliveries_total', { outcome: 'delivered' }),
        message: 'the test event to be delivered after one retry',
      });
      expect(sample(after, 'mailwarden_webhook_deliveries_total', { outcome: 'retrying' })).toBe(sample(before, 'mailwarden_webhook_deliveries_total', { outcome: 'retrying' }) + 1);
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});

describe('queue gauges', () => {
  it('report a waiting job and its age when no worker takes it', async () => {
    const c = await createTestContainer({ HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0' }, { metricsSourceCacheMs: 0 });
    const api = await c.start('api');
    try {
      const acct = await createAccount(c.http);
      const d = await registerDomain(c.http, acct, 'waiting.example.test');
      await request(c.http).post(`/v1/domains/${d.id}/verify`).set(acct.auth).expect(202);
      const text = await eventually(() => scrape(api.metricsPort!), {
        until: (t) => sample(t, 'mailwarden_queue_oldest_waiting_age_seconds', { queue: 'dns-check' }) > 0,
        message: 'the waiting check to show its age',
      });
      expect(sample(text, 'mailwarden_queue_jobs', { queue: 'dns-check', state: 'waiting' })).toBe(1);
      expect(sample(text, 'mailwarden_queue_oldest_waiting_age_seconds', { queue: 'delivery' })).toBe(0);
      expect(sample(text, 'mailwarden_domains', { status: 'pending' })).toBe(1);
    } finally {
      await api.close();
      await c.dispose();
    }
  });

  const scrape = async (port: number) => (await request(`http://127.0.0.1:${port}`).get('/metrics').expect(200)).text;
});
