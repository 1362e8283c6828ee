import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { QUEUES } from '../../src/queue/queues';
import { DnsFixture } from '../support/dns-fixture';
import { eventually } from '../support/eventually';
import { createAccount, registerDomain } from '../support/factories';
import { admittedSession } from '../support/relay-fixture';
import { ADMIN_KEY, createTestContainer } from '../support/services';
import { SmtpSink, smarthostEnv } from '../support/smtp-sink';

const INCLUDE = '_spf.mw.test';
const admin = { Authorization: `Bearer ${ADMIN_KEY}` };

/** What the last poll saw, for the timeout message. */
let seen: unknown;

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  seen = undefined;
  for (;;) {
    const v = await fn().catch((err: unknown) => ((seen = String(err)), undefined));
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(seen)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * One service (worker and relay roles) on the shared DNS world and smarthost sink. The
 * delivery retry base decides how far apart the attempts of a held message are; the
 * recheck interval how soon a verified domain is checked again.
 */
async function startService(dns: DnsFixture, sink: SmtpSink, retryBaseMs: number, recheckMs: number, maxAgeMs = 5 * 24 * 3600_000) {
  const c = await createTestContainer(
    {
      ...dns.fastLifecycleEnv(INCLUDE),
      RECHECK_INTERVAL_MS: String(recheckMs),
      CONFIRM_DELAY_MS: '400',
      APPROVAL_MODE: 'auto',
      SMTP_PORT: '0',
      SMTP_HOST: '127.0.0.1',
      ...smarthostEnv(sink),
      DELIVERY_RETRY_BASE_MS: String(retryBaseMs),
      DELIVERY_MAX_AGE_MS: String(maxAgeMs),
    },
    { jitter: (ms) => ms },
  );
  const workers = await c.start('worker', { workers: { dnsConcurrency: 4 } });
  const relay = await c.start('relay');
  const acct = await createAccount(c.http);
  return {
    c,
    acct,
    relay,
    async close() {
      await relay.close();
      await workers.close();
      await c.dispose();
    },
  };
}
type Service = Awaited<ReturnType<typeof startService>>;

const domainOf = (s: Service, id: string) => request(s.c.http).get(`/v1/domains/${id}`).set(s.acct.auth);
async function messageOf(s: Service, queueId: string) {
  const res = await request(s.c.http).get(`/v1/messages/${queueId}`).set(s.acct.auth);
  seen = res.body;
  return res;
}

/** A domain registered, published, verified (auto-approved), open to 127.0.0.1, with an SMTP user. */
async function sendingDomain(s: Service, dns: DnsFixture, name: string) {
  const d = await registerDomain(s.c.http, s.acct, name);
  for (const r of d.records) dns.publish(r.name, 'TXT', [r.strings]);
  await until('the domain may send', async () => ((await domainOf(s, d.id)).body.sending?.allowed ? true : undefined));
  await request(s.c.http).put(`/v1/domains/${d.id}/allowed-ips`).set(s.acct.auth).send({ cidrs: ['127.0.0.1'] }).expect(200);
  const user = (await request(s.c.http).post(`/v1/domains/${d.id}/smtp-users`).set(s.acct.auth).send({}).expect(201)).body;
  return { ...d, user } as { id: string; domain: string; records: Array<{ name: string; strings: string[] }>; user: { username: string; password: string } };
}

/** One message through the relay over STARTTLS and AUTH; returns its queueId. */
async function relayMessage(s: Service, d: Awaited<ReturnType<typeof sendingDomain>>, rcpt: string): Promise<string> {
  const { client } = await admittedSession(s.relay.port);
  expect((await client.login(d.user.username, d.user.password)).code).toBe(235);
  const from = `app@${d.domain}`;
  const reply = await client.send(from, [rcpt], `From: App <${from}>\r\nTo: ${rcpt}\r\nSubject: queued before the change\r\n\r\nHello.\r\n`);
  await client.quit();
  expect(reply.raw).toMatch(/^250 2\.0\.0 Ok: queued as /);
  return reply.text.split(' ').pop()!;
}

describe('policy at delivery: mail queued before a suspension or a rejection is held, never sent', () => {
  let dns: DnsFixture;
  let sink: SmtpSink;
  const services: Service[] = [];
  const rcpt = () => `r.${randomBytes(4).toString('hex')}@dest.example`;

  beforeAll(async () => {
    dns = await DnsFixture.withInclude(INCLUDE);
    sink = await SmtpSink.start();
  });
  afterEach(async () => {
    for (const s of services.splice(0)) await s.close();
  });
  afterAll(async () => {
    await sink.close();
    await dns.close();
  });

  // Tests of an admin decision check the domain only once: on FerretDB v1 a DNS check's
  // write can race the decision's and undo it (DESIGN §8: its updates are not atomic).
  const start = async (retryBaseMs: number, recheckMs = 3_600_000, maxAgeMs?: number) => {
    const s = await startService(dns, sink, retryBaseMs, recheckMs, maxAgeMs);
    services.push(s);
    return s;
  };

  it('holds mail of a domain suspended after acceptance, retries it while held, and delivers it once reinstated', async () => {
    const s = await start(200, 300);
    const d = await sendingDomain(s, dns, 'suspended.example.test');
    const delivery = s.c.queues.get(QUEUES.delivery);
    // A backlog: the message is accepted and queued, and the domain is suspended before its turn comes.
    await delivery.pause();
    const to = rcpt();
    const queueId = await relayMessage(s, d, to);
    for (const r of d.records) dns.unpublish(r.name, 'TXT');
    await until('suspended', async () => ((await domainOf(s, d.id)).body.status === 'suspended' ? true : undefined));
    await delivery.resume();

    // Held on the first attempt, and still held on the retry after it.
    const held = await until('two held attempts', async () => {
      const m = (await messageOf(s, queueId)).body;
      return m.attempts?.filter((a: { status: string }) => a.status === 'held').length >= 2 ? m : undefined;
    });
    expect(held.status).toBe('held');
    expect(held.hold).toEqual({ reason: expect.stringMatching(/suspended/), since: expect.any(String) });
    expect(held.attempts.every((a: { status: string; code: unknown }) => a.status === 'held' && a.code === null)).toBe(true);
    expect(sink.to(to)).toHaveLength(0);

    // Reinstated: the records are back and a check passes.
    for (const r of d.records) dns.publish(r.name, 'TXT', [r.strings]);
    const m = await until('delivered', async () => {
      const x = (await messageOf(s, queueId)).body;
      return x.status === 'delivered' ? x : undefined;
    });
    expect((await domainOf(s, d.id)).body.status).toBe('verified');
    expect(m.hold).toBeNull();
    expect(m.attempts.at(-1)).toMatchObject({ status: 'delivered', code: 250 });
    expect(sink.to(to)).toHaveLength(1);
  });

  it('holds mail of a domain the admin rejected, and sends it as soon as the admin approves, not at the next retry', async () => {
    // Retries 10 minutes apart: only the release on approval can deliver it within the test.
    const s = await start(10 * 60_000);
    const d = await sendingDomain(s, dns, 'rejected.example.test');
    const delivery = s.c.queues.get(QUEUES.delivery);
    await delivery.pause();
    const to = rcpt();
    const queueId = await relayMessage(s, d, to);
    await request(s.c.http).post(`/v1/admin/domains/${d.id}/reject`).set(admin).send({ reason: 'spam complaints' }).expect(200);
    await delivery.resume();

    const held = await until('held', async () => {
      const m = (await messageOf(s, queueId)).body;
      return m.status === 'held' ? m : undefined;
    });
    expect(held.hold.reason).toMatch(/rejected/);
    expect(held.attempts).toEqual([expect.objectContaining({ status: 'held', code: null, response: held.hold.reason })]);
    expect(sink.to(to)).toHaveLength(0);

    await request(s.c.http).post(`/v1/admin/domains/${d.id}/approve`).set(admin).send({ reason: 'resolved' }).expect(200);
    const m = await until('delivered', async () => {
      const x = (await messageOf(s, queueId)).body;
      return x.status === 'delivered' ? x : undefined;
    });
    expect(m.attempts.map((a: { status: string }) => a.status)).toEqual(['held', 'delivered']);
    expect(sink.to(to)).toHaveLength(1);
  });

  it('fails a message still held when it reaches DELIVERY_MAX_AGE_MS, with the reason, and never sends it', async () => {
    // Retries 1 ms, 2 ms, 4 ms … apart and a 300 ms age: the tenth attempt is made at 483 ms at the
    // earliest, so the message expires by age before the job's attempts (11) are spent.
    const s = await start(1, undefined, 300);
    const d = await sendingDomain(s, dns, 'expired.example.test');
    const delivery = s.c.queues.get(QUEUES.delivery);
    await delivery.pause();
    const to = rcpt();
    const queueId = await relayMessage(s, d, to);
    await request(s.c.http).post(`/v1/admin/domains/${d.id}/reject`).set(admin).send({ reason: 'not a legitimate sender' }).expect(200);
    await delivery.resume();

    const m = await until('failed', async () => {
      const x = (await messageOf(s, queueId)).body;
      return x.status === 'failed' ? x : undefined;
    });
    const statuses = m.attempts.map((a: { status: string }) => a.status);
    expect(statuses.at(-1)).toBe('failed');
    expect(statuses.slice(0, -1).every((x: string) => x === 'held')).toBe(true);
    expect(statuses.length).toBeLessThanOrEqual(10);
    expect(m.attempts.at(-1).response).toMatch(/^expired: the domain was still not allowed to send when the message reached DELIVERY_MAX_AGE_MS: sending was rejected/);
    expect(m.recipients).toEqual([expect.objectContaining({ address: to, status: 'bounced', reason: 'expired' })]);
    expect(m.hold.reason).toMatch(/rejected/);
    expect(m.deliveredAt).toBeNull();
    expect(sink.to(to)).toHaveLength(0);
    // The events are written just after the message's final state, and the job ends after that: wait for both to settle.
    await eventually(async () => {
      const events = await s.c.events.listForDomain(d.id);
      expect(events.filter((e) => e._id === `${queueId}-failed`)).toEqual([expect.objectContaining({ type: 'message.failed' })]);
      const job = await delivery.getJob(`deliver-${queueId}`);
      expect(await job?.getState()).toBe('failed');
    });
  });
});
