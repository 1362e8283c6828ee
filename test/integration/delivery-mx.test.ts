import request from 'supertest';
import type { RunningRelay } from '../../src/relay/relay.server';
import type { RunningWorkers } from '../../workers';
import { DnsFixture } from '../support/dns-fixture';
import { eventually } from '../support/eventually';
import { admittedSession } from '../support/relay-fixture';
import { createAccount, registerDomain, type TestAccount } from '../support/factories';
import { expectMatchesDocument } from '../support/openapi';
import { createTestContainer, type TestContainer } from '../support/services';
import { startSinksOnOnePort, type SmtpSink } from '../support/smtp-sink';

/**
 * DELIVERY_MODE=mx end to end over real sockets: a message spooled through the relay
 * (STARTTLS, AUTH) goes straight to each recipient domain's MX host, which the test DNS
 * server (as DNS_RESOLVERS) points at smtp-server sinks on 127.0.0.6x sharing MX_PORT.
 */

const INCLUDE = '_spf.mw.test';
const GOOD = 'good@ok.rcpt.test';
const GONE = 'gone@bad.rcpt.test';
const LATER = 'later@grey.rcpt.test';

describe('direct MX delivery with per-recipient status', () => {
  let dns: DnsFixture;
  let sinks: { ok: SmtpSink; bad: SmtpSink; grey: SmtpSink };
  let c: TestContainer;
  let workers: RunningWorkers;
  let relay: RunningRelay;
  let acct: TestAccount;

  const mx = (domain: string, ip: string) => {
    dns.publish(domain, 'MX', [{ preference: 10, exchange: `mx.${domain}` }], [dns.resolver]);
    dns.publish(`mx.${domain}`, 'A', [ip], [dns.resolver]);
  };

  beforeAll(async () => {
    dns = await DnsFixture.withInclude(INCLUDE);
    const [ok, bad, grey] = await startSinksOnOnePort([{ host: '127.0.0.61' }, { host: '127.0.0.62' }, { host: '127.0.0.63' }]);
    sinks = { ok, bad, grey };
    mx('ok.rcpt.test', '127.0.0.61');
    mx('bad.rcpt.test', '127.0.0.62');
    mx('grey.rcpt.test', '127.0.0.63');
    bad.rcpt(GONE, ['550 5.1.1 No such user here']);
    grey.rcpt(LATER, ['451 4.2.1 Greylisted, try again later', 250]);

    c = await createTestContainer(
      {
        ...dns.fastLifecycleEnv(INCLUDE),
        APPROVAL_MODE: 'auto',
        SMTP_PORT: '0',
        SMTP_HOST: '127.0.0.1',
        DELIVERY_MODE: 'mx',
        MX_PORT: String(ok.port),
        DELIVERY_RETRY_BASE_MS: '200',
      },
      { jitter: (ms) => ms },
    );
    workers = await c.start('worker', { workers: { dnsConcurrency: 4 } });
    relay = await c.start('relay');
    acct = await createAccount(c.http);
  });
  afterAll(async () => {
    await relay.close();
    await workers.close();
    await c.dispose();
    await Promise.all(Object.values(sinks).map((s) => s.close()));
    await dns.close();
  });

  it('delivers, bounces (and suppresses) and defers-then-delivers the recipients of one message, each with its own status', async () => {
    const d = await registerDomain(c.http, acct, 'mx.example.test');
    for (const r of d.records) dns.publish(r.name, 'TXT', [r.strings]);
    await eventually(async () => (await request(c.http).get(`/v1/domains/${d.id}`).set(acct.auth)).body, {
      until: (x) => x.sending?.allowed === true,
      message: 'the domain to verify',
    });
    await request(c.http).put(`/v1/domains/${d.id}/allowed-ips`).set(acct.auth).send({ cidrs: ['127.0.0.1'] }).expect(200);
    const user = (await request(c.http).post(`/v1/domains/${d.id}/smtp-users`).set(acct.auth).send({}).expect(201)).body;
    const session = async () => (await admittedSession(relay.port)).client;

    const client = await session();
    expect((await client.login(user.username, user.password)).code).toBe(235);
    const reply = await client.send('app@mx.example.test', [GOOD, GONE, LATER], `From: App <app@mx.example.test>\r\nTo: ${GOOD}\r\nSubject: mixed\r\n\r\nHello.\r\n`);
    expect(reply.raw).toMatch(/^250 2\.0\.0 Ok: queued as /);
    const queueId = reply.text.split(' ').pop()!;
    await client.quit();

    const get = async () => (await expectMatchesDocument(c.http, await request(c.http).get(`/v1/messages/${queueId}`).set(acct.auth))).body;
    const m = await eventually(get, { until: (x) => x.status === 'bounced', message: 'the message to finish as bounced' });
    const byAddress = Object.fromEntries(m.recipients.map((r: { address: string }) => [r.address, r]));
    expect(m.recipients.map((r: { address: string }) => r.address)).toEqual([GOOD, GONE, LATER]);
    expect(byAddress[GOOD]).toEqual({
      address: GOOD,
      status: 'delivered',
      reply: expect.objectContaining({ code: 250 }),
      remoteHost: expect.stringContaining('127.0.0.61'),
      reason: expect.any(String),
      attempts: 1,
      updatedAt: expect.any(String),
    });
    expect(byAddress[GONE]).toMatchObject({
      status: 'bounced',
      reply: { code: 550, enhanced: '5.1.1', message: 'No such user here' },
      remoteHost: expect.stringContaining('127.0.0.62'),
      attempts: 1,
    });
    expect(byAddress[LATER]).toMatchObject({ status: 'delivered', reply: expect.objectContaining({ code: 250 }), remoteHost: expect.stringContaining('127.0.0.63'), attempts: 2 });
    expect(m.attempts.map((a: { status: string }) => a.status)).toEqual(['deferred', 'bounced']);
    expect(m.deliveredAt).not.toBeNull();

    // The retry went only to the deferred recipient: each delivered recipient got one copy.
    expect(sinks.ok.to(GOOD)).toHaveLength(1);
    expect(sinks.grey.to(LATER)).toHaveLength(1);
    expect(sinks.grey.rcptTries.get(LATER)).toBe(2);
    expect(sinks.bad.rcptTries.get(GONE)).toBe(1);
    expect(sinks.ok.rcptTries.get(GOOD)).toBe(1);

    // Events: one bounce, one (first) deferral; no message-level delivered/failed for a partial delivery.
    const events = await eventually(async () => (await c.events.listForDomain(d.id)).filter((e) => e._id.startsWith(queueId)), {
      until: (es) => es.length >= 2,
      message: 'the message events',
    });
    expect(events.map((e) => [e._id, e.type]).sort()).toEqual([
      [`${queueId}-bounced-${GONE}`, 'message.bounced'],
      [`${queueId}-deferred-${LATER}`, 'message.deferred'],
    ]);
    const bounced = events.find((e) => e.type === 'message.bounced')!;
    expect(bounced.data).toMatchObject({ queueId, recipient: { address: GONE, status: 'bounced', reply: { code: 550, enhanced: '5.1.1' } } });

    // The hard bounce put the address on the account's suppression list, with its reply.
    const list = await request(c.http).get('/v1/suppressions').set(acct.auth).expect(200);
    expect(list.body.data).toEqual([expect.objectContaining({ address: GONE, reason: 'bounce', reply: { code: 550, enhanced: '5.1.1', message: 'No such user here' } })]);

    // ... and the relay now refuses it at RCPT TO, while the rest of the message goes on.
    const again = await session();
    await again.login(user.username, user.password);
    expect((await again.command('MAIL FROM:<app@mx.example.test>')).code).toBe(250);
    const refused = await eventually(
      async () => {
        const r = await again.command(`RCPT TO:<${GONE}>`);
        return r;
      },
      { until: (r) => r.code === 550, timeoutMs: 2000, message: 'the relay to refuse the suppressed address' },
    );
    expect(refused.raw).toBe('550 5.1.1 Recipient address is suppressed');
    expect((await again.command(`RCPT TO:<${GOOD}>`)).code).toBe(250);
    await again.quit();
  });
});
