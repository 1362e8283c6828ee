import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Resolver } from 'node:dns/promises';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import type { RunningWorkers } from '../../workers';
import { deliveryJob } from '../../src/queue/delivery-jobs';
import { QUEUES, webhookJobId } from '../../src/queue/queues';
import { DnsFixture } from '../support/dns-fixture';
import { eventually, until } from '../support/eventually';
import { createAccount, registerDomain, type TestAccount, spooledMessage } from '../support/factories';
import { expectMatchesDocument } from '../support/openapi';
import { createTestContainer, type TestContainer } from '../support/services';

interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real HTTP receiver; each path answers from its plan of status codes (then 200). */
class Receiver {
  readonly hits: Hit[] = [];
  private readonly plans = new Map<string, number[]>();
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Receiver> {
    let r!: Receiver;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        r.hits.push({ path: req.url ?? '/', headers: req.headers, body });
        const plan = r.plans.get(req.url ?? '/') ?? [];
        res.statusCode = plan.shift() ?? 200;
        res.end('ok');
      });
    });
    r = new Receiver(server);
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    return r;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  plan(path: string, codes: number[]): void {
    this.plans.set(path, [...codes]);
  }

  at(path: string): Hit[] {
    return this.hits.filter((h) => h.path === path);
  }

  close(): Promise<void> {
    return new Promise((res) => this.server.close(() => res()));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('webhooks', () => {
  let c: TestContainer;
  let workers: RunningWorkers;
  let rx: Receiver;
  let acct: TestAccount;
  let other: TestAccount;

  beforeAll(async () => {
    rx = await Receiver.start();
    c = await createTestContainer({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '100', SWEEP_INTERVAL_MS: '150' });
    workers = await c.start('worker', { workers: { dnsConcurrency: 1 } });
    acct = await createAccount(c.http, 'Hooks');
    other = await createAccount(c.http, 'Other');
  });
  afterAll(async () => {
    await workers.close();
    await c.dispose();
    await rx.close();
  });

  const subscribe = async (path: string, events: string[], extra: object = {}, who = acct) =>
    (await expectMatchesDocument(c.http, await request(c.http).post('/v1/webhooks').set(who.auth).send({ url: rx.url(path), events, ...extra }).expect(201))).body;

  it.each([
    [{ url: 'ftp://x.example/', events: ['domain.verified'] }, 'url'],
    [{ url: 'not a url', events: ['domain.verified'] }, 'url'],
    [{ url: 'https://u:p@x.example/', events: ['domain.verified'] }, 'url'],
    [{ url: 'https://x.example/', events: ['domain.exploded'] }, 'events.0'],
    [{ url: 'https://x.example/', events: [] }, 'events'],
    [{ url: 'https://x.example/', events: ['domain.verified'], extra: 1 }, 'extra'],
    [{ url: 'https://x.example/', events: ['domain.verified'], domainId: 'nope' }, 'domainId'],
  ])('answers 400 to %j naming %s', async (body, field) => {
    const res = await request(c.http).post('/v1/webhooks').set(acct.auth).send(body).expect(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    await expectMatchesDocument(c.http, res);
  });

  it('creates a subscription with a whsec_ secret shown once, and signs per Standard Webhooks', async () => {
    const w = await subscribe('/signed', ['domain.verified']);
    expect(w.secret).toMatch(/^whsec_/);
    const listed = (await expectMatchesDocument(c.http, await request(c.http).get('/v1/webhooks').set(acct.auth).expect(200))).body.data;
    expect(JSON.stringify(listed)).not.toContain('whsec_');
    await expectMatchesDocument(c.http, await request(c.http).post(`/v1/webhooks/${w.id}/test`).set(acct.auth).expect(202));
    const hit = await until(() => rx.at('/signed')[0], { message: 'the test event' });
    const payload = new Webhook(w.secret).verify(hit.body, hit.headers as Record<string, string>) as { type: string; timestamp: string; data: unknown };
    expect(payload.type).toBe('webhook.test');
    expect(hit.headers['webhook-id']).toBeTruthy();
    expect(() => new Webhook(w.secret).verify(`${hit.body} `, hit.headers as Record<string, string>)).toThrow();
  });

  it('sends both signatures during a secret rotation', async () => {
    const w = await subscribe('/rotate', ['domain.verified']);
    const rotated = (await expectMatchesDocument(c.http, await request(c.http).post(`/v1/webhooks/${w.id}/rotate-secret`).set(acct.auth).expect(200))).body;
    expect(rotated.secret).not.toBe(w.secret);
    await request(c.http).post(`/v1/webhooks/${w.id}/test`).set(acct.auth).expect(202);
    const hit = await until(() => rx.at('/rotate')[0], { message: 'the test event' });
    expect(String(hit.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of [w.secret, rotated.secret]) expect(() => new Webhook(secret).verify(hit.body, hit.headers as Record<string, string>)).not.toThrow();
  });

  it('retries 500, 500, then delivers once on 200, logging every attempt', async () => {
    rx.plan('/flaky', [500, 500, 200]);
    const w = await subscribe('/flaky', ['domain.verified']);
    const { eventId } = (await request(c.http).post(`/v1/webhooks/${w.id}/test`).set(acct.auth).expect(202)).body;
    await until(() => rx.at('/flaky').length >= 3, { message: 'three attempts' });
    // The job has finished (removed on completion): it makes no further attempt, and its last one is logged.
    await eventually(() => c.queues.get(QUEUES.webhook).getJobState(webhookJobId(eventId, w.id)), {
      until: (state) => state === 'completed' || state === 'failed' || state === 'unknown',
      message: 'the webhook job to finish',
    });
    expect(rx.at('/flaky')).toHaveLength(3);
    const log = (await expectMatchesDocument(c.http, await request(c.http).get(`/v1/webhooks/${w.id}/deliveries`).set(acct.auth).expect(200))).body.data;
    expect(log.map((d: { statusCode: number; outcome: string }) => [d.statusCode, d.outcome])).toEqual([
      [200, 'delivered'],
      [500, 'retrying'],
      [500, 'retrying'],
    ]);
    expect(log[0].latencyMs).toEqual(expect.any(Number));
  });

  it('disables a subscription that answers 410 Gone, and can re-enable it', async () => {
    rx.plan('/gone', [410]);
    const w = await subscribe('/gone', ['domain.verified']);
    await request(c.http).post(`/v1/webhooks/${w.id}/test`).set(acct.auth).expect(202);
    const disabled = await eventually(
      async () => (await request(c.http).get('/v1/webhooks').set(acct.auth)).body.data.find((l: { id: string }) => l.id === w.id),
      { until: (x) => x.status === 'disabled', message: 'the subscription to be disabled' },
    );
    expect(disabled.disabledReason).toMatch(/410/);
    const enabled = (await expectMatchesDocument(c.http, await request(c.http).post(`/v1/webhooks/${w.id}/enable`).set(acct.auth).expect(200))).body;
    expect(enabled.status).toBe('active');
  });

  it('fans each event out once to the matching subscriptions, even with two dispatchers', async () => {
    const d = await registerDomain(c.http, acct, 'fan.example.com', 'ed25519');
    const d2 = await registerDomain(c.http, acct, 'other-fan.example.com', 'ed25519');
    await subscribe('/fan-all', ['domain.suspended']);
    await subscribe('/fan-d', ['domain.suspended'], { domainId: d.id });
    await subscribe('/fan-d2', ['domain.suspended'], { domainId: d2.id });
    await subscribe('/fan-other-type', ['domain.verified']);
    await subscribe('/fan-other-account', ['domain.suspended'], {}, other);
    await c.events.insertOnce({ _id: `${d.id}-9`, type: 'domain.suspended', accountId: acct.id, domainId: d.id, version: 9, data: { id: d.id }, createdAt: new Date() });
    const eventId = `${d.id}-9`;
    await Promise.all([c.webhooks.dispatchEvent(eventId), c.webhooks.dispatchEvent(eventId), c.webhooks.dispatchPending()]);
    await until(() => rx.at('/fan-all').length && rx.at('/fan-d').length, { message: 'fan-out' });
    // A sleep on purpose: that nothing more arrives (no second copy from a racing dispatcher,
    // nothing for the other subscriptions) can only be shown over a period.
    await sleep(600);
    // Once its webhook jobs have run and are gone, dispatching the event again adds nothing.
    expect(await c.webhooks.dispatchEvent(eventId)).toBe(0);
    await c.webhooks.dispatchPending();
    await sleep(400); // on purpose, as above
    expect(rx.at('/fan-all')).toHaveLength(1);
    expect(rx.at('/fan-d')).toHaveLength(1);
    expect(rx.at('/fan-d2')).toHaveLength(0);
    expect(rx.at('/fan-other-type')).toHaveLength(0);
    expect(rx.at('/fan-other-account')).toHaveLength(0);
    const body = JSON.parse(rx.at('/fan-d')[0].body);
    expect(body).toMatchObject({ type: 'domain.suspended', version: 9, data: { id: d.id } });
  });

  it('fans out, through the sweep tick, an event whose own dispatch job was never enqueued', async () => {
    const d = await registerDomain(c.http, acct, 'lost-job.example.com', 'ed25519');
    await subscribe('/lost-job', ['domain.check_degraded'], { domainId: d.id });
    // Written straight to the store, as a crash between the write and the enqueue leaves it.
    await c.events.insertOnce({ _id: `${d.id}-7`, type: 'domain.check_degraded', accountId: acct.id, domainId: d.id, version: 7, data: { id: d.id }, createdAt: new Date() });
    await until(() => rx.at('/lost-job')[0], { message: 'the sweep to fan it out' });
    await until(async () => (await c.events.findById(`${d.id}-7`))?.dispatched, { message: 'the event to be marked dispatched' });
    // A sleep on purpose: that later sweep ticks add no second copy can only be shown over a period.
    await sleep(500);
    expect(rx.at('/lost-job')).toHaveLength(1);
  });

  it('fans out an event whose id holds a colon (a quoted recipient address), which BullMQ refuses in job ids', async () => {
    await subscribe('/colon', ['message.bounced']);
    const eventId = `msg1-bounced-"a:b"@dest.example`;
    await c.events.insertOnce({ _id: eventId, type: 'message.bounced', accountId: acct.id, domainId: '', version: 0, data: { queueId: 'msg1' }, createdAt: new Date() });
    expect(await c.webhooks.dispatchEvent(eventId)).toBe(1);
    const hit = await until(() => rx.at('/colon')[0], { message: 'the bounced event' });
    expect(hit.headers['webhook-id']).toBe(eventId);
  });

  it('keeps accounts apart', async () => {
    const w = await subscribe('/mine', ['domain.verified']);
    for (const [method, path] of [
      ['delete', `/v1/webhooks/${w.id}`],
      ['get', `/v1/webhooks/${w.id}/deliveries`],
      ['post', `/v1/webhooks/${w.id}/test`],
      ['post', `/v1/webhooks/${w.id}/rotate-secret`],
    ] as const) {
      await expectMatchesDocument(c.http, await request(c.http)[method](path).set(other.auth).expect(404));
    }
    const theirs = (await request(c.http).get('/v1/webhooks').set(other.auth)).body.data;
    expect(theirs.map((x: { id: string }) => x.id)).not.toContain(w.id);
    await expectMatchesDocument(c.http, await request(c.http).delete(`/v1/webhooks/${w.id}`).set(acct.auth).expect(204));
  });
});

describe('webhook fan-out in its own job', () => {
  let dns: DnsFixture;
  let c: TestContainer;
  let workers: RunningWorkers;
  let rx: Receiver;
  let acct: TestAccount;

  beforeAll(async () => {
    rx = await Receiver.start();
    dns = await DnsFixture.withInclude('_spf.mw.test');
    // One sweep tick an hour: nothing in this test may wait for one.
    c = await createTestContainer(
      {
        ...dns.env(),
        SPF_INCLUDE_DOMAIN: '_spf.mw.test',
        APPROVAL_MODE: 'auto',
        SWEEP_INTERVAL_MS: '3600000',
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_RETRY_BASE_MS: '100',
      },
      { jitter: (ms) => ms },
    );
    workers = await c.start('worker', { workers: { dnsConcurrency: 1 } });
    acct = await createAccount(c.http, 'Prompt');
  });
  afterAll(async () => {
    await workers.close();
    await c.dispose();
    await dns.close();
    await rx.close();
  });

  it('delivers an event as soon as the check writes it, without a sweep tick', async () => {
    await request(c.http).post('/v1/webhooks').set(acct.auth).send({ url: rx.url('/prompt'), events: ['domain.verified'] }).expect(201);
    const d = await registerDomain(c.http, acct, 'prompt.example.test', 'ed25519');
    for (const r of d.records) dns.publish(r.name, 'TXT', [r.strings]);
    await request(c.http).post(`/v1/domains/${d.id}/verify`).set(acct.auth).expect(202);
    const hit = await until(() => rx.at('/prompt')[0], { message: 'domain.verified' });
    expect(JSON.parse(hit.body)).toMatchObject({ type: 'domain.verified', data: { id: d.id, status: 'verified' } });
  });

  it('delivers a message event as soon as the delivery writes it, without a sweep tick', async () => {
    await request(c.http).post('/v1/webhooks').set(acct.auth).send({ url: rx.url('/message'), events: ['message.delivered'] }).expect(201);
    const d = await registerDomain(c.http, acct, 'message.example.test', 'ed25519');
    for (const r of d.records) dns.publish(r.name, 'TXT', [r.strings]);
    await request(c.http).post(`/v1/domains/${d.id}/verify`).set(acct.auth).expect(202);
    await until(async () => (await request(c.http).get(`/v1/domains/${d.id}`).set(acct.auth)).body.sending.allowed, { message: 'verified' });
    const raw = Buffer.from(`From: <sender@${d.domain}>\r\nTo: <rcpt@example.net>\r\nSubject: hi\r\n\r\nHello.\r\n`);
    const queueId = `q${Date.now().toString(36)}`;
    await c.messages.insert(spooledMessage({ id: queueId, accountId: acct.id, domain: d, to: ['rcpt@example.net'], raw }));
    await c.queues.get(QUEUES.delivery).add(...deliveryJob(c.config, queueId));
    const hit = await until(() => rx.at('/message')[0], { message: 'message.delivered' });
    expect(JSON.parse(hit.body)).toMatchObject({ type: 'message.delivered', data: { queueId, status: 'delivered' } });
  });
});

describe('webhooks with the SSRF guard on', () => {
  let dns: DnsFixture;
  let c: TestContainer;
  let workers: RunningWorkers;
  let rx: Receiver;
  let acct: TestAccount;

  beforeAll(async () => {
    rx = await Receiver.start();
    dns = await DnsFixture.start(['evil.test']);
    dns.publish('hook.evil.test', 'A', ['127.0.0.1']);
    const resolver = new Resolver();
    resolver.setServers([dns.resolverAddress]);
    c = await createTestContainer(
      { WEBHOOK_ALLOW_PRIVATE: 'false', WEBHOOK_RETRY_BASE_MS: '100', SWEEP_INTERVAL_MS: '150' },
      { webhookLookup: async (host) => (await resolver.resolve4(host)).map((address) => ({ address, family: 4 })) },
    );
    workers = await c.start('worker', { workers: { dnsConcurrency: 1 } });
    acct = await createAccount(c.http, 'Guarded');
  });
  afterAll(async () => {
    await workers.close();
    await c.dispose();
    await dns.close();
    await rx.close();
  });

  it.each(['http://127.0.0.1/', 'http://10.0.0.5/', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/', 'http://[fc00::1]/', 'http://[::ffff:127.0.0.1]/', 'http://[::127.0.0.1]/', 'http://[::7f00:1]/'])(
    'refuses %s at creation',
    async (url) => {
      const res = await request(c.http).post('/v1/webhooks').set(acct.auth).send({ url, events: ['domain.verified'] }).expect(400);
      expect(res.body.errors[0].field).toBe('url');
      await expectMatchesDocument(c.http, res);
    },
  );

  it('refuses at send time a name that resolves to a private address', async () => {
    const w = (await request(c.http).post('/v1/webhooks').set(acct.auth).send({ url: `http://hook.evil.test:${rx.port}/x`, events: ['domain.verified'] }).expect(201)).body;
    await request(c.http).post(`/v1/webhooks/${w.id}/test`).set(acct.auth).expect(202);
    const log = await eventually(async () => (await expectMatchesDocument(c.http, await request(c.http).get(`/v1/webhooks/${w.id}/deliveries`).set(acct.auth))).body.data, {
      until: (d) => d.length > 0,
      message: 'the refused attempt',
    });
    expect(log[0]).toMatchObject({ outcome: 'failed', statusCode: null, error: 'refused: hook.evil.test resolves to a non-public address' });
    expect(log[0].error).not.toContain('127.0.0.1');
    expect(rx.hits).toHaveLength(0);
  });
});

describe('webhooks end to end with the lifecycle', () => {
  let dns: DnsFixture;
  let c: TestContainer;
  let workers: RunningWorkers[];
  let rx: Receiver;
  let acct: TestAccount;

  beforeAll(async () => {
    rx = await Receiver.start();
    dns = await DnsFixture.withInclude('_spf.mw.test');
    c = await createTestContainer(
      {
        ...dns.fastLifecycleEnv('_spf.mw.test'),
        RECHECK_INTERVAL_MS: '300',
        CONFIRM_DELAY_MS: '400',
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_RETRY_BASE_MS: '100',
      },
      { jitter: (ms) => ms },
    );
    // Two worker sets: two sweepers, two dispatchers, two webhook senders.
    workers = [await c.start('worker', { workers: { dnsConcurrency: 2 } }), await c.start('worker', { workers: { dnsConcurrency: 2 } })];
    acct = await createAccount(c.http, 'Owner');
  });
  afterAll(async () => {
    for (const w of workers) await w.close();
    await c.dispose();
    await dns.close();
    await rx.close();
  });

  it('tells the owner verified, suspended and reinstated, exactly once each', async () => {
    const w = (await request(c.http)
      .post('/v1/webhooks')
      .set(acct.auth)
      .send({ url: rx.url('/owner'), events: ['domain.verified', 'domain.suspended', 'domain.reinstated'] })
      .expect(201)).body;
    const d = await registerDomain(c.http, acct, 'hooked.example.test', 'ed25519');
    const types = () => rx.at('/owner').map((h) => JSON.parse(h.body).type as string);
    for (const r of d.records) dns.publish(r.name, 'TXT', [r.strings]);
    await until(() => types().includes('domain.verified'), { message: 'domain.verified' });
    for (const r of d.records) dns.unpublish(r.name, 'TXT');
    await until(() => types().includes('domain.suspended'), { message: 'domain.suspended' });
    for (const r of d.records) dns.publish(r.name, 'TXT', [r.strings]);
    await until(() => types().includes('domain.reinstated'), { message: 'domain.reinstated' });
    // A sleep on purpose: "exactly once" with two dispatchers and two senders racing can only be
    // shown over a period in which a second copy would arrive (several sweeps of 150 ms).
    await sleep(800);
    expect(types()).toEqual(['domain.verified', 'domain.suspended', 'domain.reinstated']);
    const versions = rx.at('/owner').map((h) => JSON.parse(h.body).version as number);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    for (const h of rx.at('/owner')) expect(() => new Webhook(w.secret).verify(h.body, h.headers as Record<string, string>)).not.toThrow();
    const last = JSON.parse(rx.at('/owner')[2].body);
    expect(last.data).toMatchObject({ id: d.id, domain: 'hooked.example.test', status: 'verified' });
  });

  it('sends a slim domain view: no questionnaire answers, contact e-mails, allowed IPs or records', async () => {
    await request(c.http).post('/v1/webhooks').set(acct.auth).send({ url: rx.url('/slim'), events: ['domain.verified'] }).expect(201);
    const d = await registerDomain(c.http, acct, 'slim.example.test', 'ed25519');
    await request(c.http)
      .put(`/v1/domains/${d.id}/questionnaire`)
      .set(acct.auth)
      .send({
        nature: 'transactional',
        websiteUrl: 'https://slim.example.test/about',
        subscriberListStrategy: 'Only customers who create an account; double opt-in.',
        bounceHandling: 'Hard bounces suppress the address at once.',
        unsubscribeMethod: 'One-click link (RFC 8058).',
        sendingRateRationale: 'About 2,000 order mails a day.',
        listHygiene: 'Inactive addresses are removed monthly.',
        contactEmails: ['secret-contact@slim.example.test'],
        replyTo: 'support@slim.example.test',
        consentStatement: true,
        unsubscribeLinkAgreement: true,
        htmlValidationProcess: 'Templates are linted in CI.',
      })
      .expect(200);
    await request(c.http).put(`/v1/domains/${d.id}/allowed-ips`).set(acct.auth).send({ cidrs: ['198.51.100.0/24'] }).expect(200);
    for (const r of d.records) dns.publish(r.name, 'TXT', [r.strings]);
    const hit = await until(() => rx.at('/slim')[0], { message: 'domain.verified at /slim' });
    const payload = JSON.parse(hit.body);
    expect(payload.type).toBe('domain.verified');
    expect(Object.keys(payload.data).sort()).toEqual(['approval', 'domain', 'id', 'sending', 'status', 'verification']);
    expect(payload.data).toMatchObject({
      id: d.id,
      domain: 'slim.example.test',
      status: 'verified',
      approval: 'pending_review',
      sending: { allowed: false, reason: expect.any(String) },
      verification: { verifiedAt: expect.any(String), deadlineAt: expect.any(String) },
    });
    for (const secret of ['"questionnaire"', '"allowedIps"', '"records"', 'secret-contact@', 'support@slim', '198.51.100.0', 'publicKey']) {
      expect(hit.body).not.toContain(secret);
    }
  });
});
