import request from 'supertest';
import type { RunningBounceRole, RunningRelayRole } from '../../src/container';
import { QUEUES } from '../../src/queue/queues';
import type { RunningWorkers } from '../../workers';
import { DnsFixture } from '../support/dns-fixture';
import { eventually } from '../support/eventually';
import { admittedSession } from '../support/relay-fixture';
import { createAccount, registerDomain, type TestAccount } from '../support/factories';
import { arfReport, dsnReport } from '../support/feedback-reports';
import { expectMatchesDocument } from '../support/openapi';
import { createTestContainer, type TestContainer } from '../support/services';
import { SmtpTestClient } from '../support/smtp-client';
import { SmtpSink, smarthostEnv } from '../support/smtp-sink';

const INCLUDE = '_spf.mw.test';
const MX_HOST = 'mx.mw.test';

describe('return path: custom MAIL FROM with VERP, and the bounce intake', () => {
  let dns: DnsFixture;
  let sink: SmtpSink;
  let c: TestContainer;
  let workers: RunningWorkers;
  let relay: RunningRelayRole;
  let bounce: RunningBounceRole;
  let acct: TestAccount;

  const getDomain = async (id: string) => (await expectMatchesDocument(c.http, await request(c.http).get(`/v1/domains/${id}`).set(acct.auth))).body;
  const getMessage = async (queueId: string) => (await expectMatchesDocument(c.http, await request(c.http).get(`/v1/messages/${queueId}`).set(acct.auth))).body;
  const suppressed = async () => (await request(c.http).get('/v1/suppressions').set(acct.auth).expect(200)).body.data.map((s: { address: string; reason: string }) => `${s.address} ${s.reason}`);

  /** A domain registered, published on both nameservers, verified (auto-approved), with one SMTP user. */
  async function verifiedDomain(name: string) {
    const d = await registerDomain(c.http, acct, name);
    for (const r of d.records) dns.publish(r.name, 'TXT', [r.strings]);
    await eventually(() => getDomain(d.id), { until: (x) => x.sending?.allowed === true, message: `${name} to verify` });
    await request(c.http).put(`/v1/domains/${d.id}/allowed-ips`).set(acct.auth).send({ cidrs: ['127.0.0.1'] }).expect(200);
    const user = (await request(c.http).post(`/v1/domains/${d.id}/smtp-users`).set(acct.auth).send({}).expect(201)).body;
    return { id: d.id as string, domain: name, user: user as { username: string; password: string } };
  }

  const policyFor = async (sender: string) =>
    (await expectMatchesDocument(c.http, await request(c.http).get('/v1/policy').query({ sender }).set(acct.auth).expect(200))).body;

  const putReturnPath = (id: string, body: object) => request(c.http).put(`/v1/domains/${id}/return-path`).set(acct.auth).send(body);

  /** An authenticated relay session that the allowlist has let in. */
  async function relaySession(user: { username: string; password: string }) {
    const { client } = await admittedSession(relay.port);
    expect((await client.login(user.username, user.password)).code).toBe(235);
    return client;
  }

  /** One transaction to the bounce intake, as a receiving MTA sends a report: null sender. */
  async function report(rcpt: string, message: string) {
    const { client, greeting } = await SmtpTestClient.connect(bounce.port);
    expect(greeting.code).toBe(220);
    await client.ehlo('mx.dest.example');
    const reply = await client.send('', [rcpt], message);
    await client.quit();
    return reply;
  }

  beforeAll(async () => {
    dns = await DnsFixture.withInclude(INCLUDE);
    sink = await SmtpSink.start();
    c = await createTestContainer(
      {
        ...dns.env(),
        SPF_INCLUDE_DOMAIN: INCLUDE,
        RETURN_PATH_MX_HOST: MX_HOST,
        PROPAGATION_SCHEDULE: '200ms',
        SWEEP_INTERVAL_MS: '150',
        RECHECK_INTERVAL_MS: '300',
        CONFIRM_DELAY_MS: '400',
        APPROVAL_MODE: 'auto',
        SMTP_PORT: '0',
        SMTP_HOST: '127.0.0.1',
        BOUNCE_SMTP_PORT: '0',
        // The intake takes at most this much per report too.
        SMTP_MAX_MESSAGE_BYTES: String(64 * 1024),
        ...smarthostEnv(sink),
        DELIVERY_RETRY_BASE_MS: '200',
      },
      { jitter: (ms) => ms },
    );
    workers = await c.start('worker', { workers: { dnsConcurrency: 4 } });
    relay = await c.start('relay');
    bounce = await c.start('bounce');
    acct = await createAccount(c.http);
  });
  afterAll(async () => {
    await bounce?.close();
    await relay.close();
    await workers.close();
    await c.dispose();
    await sink.close();
    await dns.close();
  });

  it('refuses a subdomain that is not under the domain (400 naming subdomain)', async () => {
    const d = await registerDomain(c.http, acct, 'names.example.test');
    for (const subdomain of ['bounce.other.test', 'names.example.test', 'xnames.example.test', 'bad..names.example.test']) {
      const res = await expectMatchesDocument(c.http, await putReturnPath(d.id, { subdomain }));
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['subdomain']);
    }
    expect((await putReturnPath(d.id, { subdomain: 'bounce.names.example.test', fallback: 'sometimes' })).status).toBe(400);
  });

  it('verifies the return path through DNS, sends with a VERP sender, and a DSN bounces and suppresses that one recipient', async () => {
    const d = await verifiedDomain('shop.example.test');
    const put = await expectMatchesDocument(c.http, await putReturnPath(d.id, { subdomain: 'Bounce.Shop.example.test' }));
    expect(put.status).toBe(200);
    expect(put.body.returnPath).toMatchObject({ subdomain: 'bounce.shop.example.test', fallback: 'use_sender', status: 'pending', applies: 'use_sender' });
    expect(await policyFor('app@shop.example.test')).toMatchObject({ allowed: true, returnPath: 'use_sender' });
    const [mx, spf] = put.body.returnPath.records;
    expect(mx).toMatchObject({ purpose: 'mx', type: 'MX', name: 'bounce.shop.example.test', host: 'bounce.shop', value: `10 ${MX_HOST}`, priority: 10, exchange: MX_HOST, status: 'pending', hint: null });
    expect(spf).toMatchObject({ purpose: 'spf', type: 'TXT', name: 'bounce.shop.example.test', host: 'bounce.shop', value: `v=spf1 include:${INCLUDE} ~all`, hint: null });

    dns.publish('bounce.shop.example.test', 'MX', [{ preference: 10, exchange: MX_HOST }]);
    dns.publish('bounce.shop.example.test', 'TXT', [spf.strings]);
    const verified = await eventually(() => getDomain(d.id), { until: (x) => x.returnPath?.status === 'verified', message: 'the return path to verify' });
    expect(verified.returnPath.applies).toBe('verp');
    expect(verified.returnPath.records.map((r: { status: string; host: string; hint: string | null }) => [r.status, r.host, r.hint])).toEqual([
      ['pass', 'bounce.shop', null],
      ['pass', 'bounce.shop', null],
    ]);
    expect(verified.returnPath.records[0].nameservers.map((n: { host: string; status: string }) => `${n.host} ${n.status}`).sort()).toEqual([
      'ns1.example.test pass',
      'ns2.example.test pass',
    ]);

    const client = await relaySession(d.user);
    const [gone, kept] = ['gone@dest.example', 'kept@dest.example'];
    const accepted = await eventually(
      async () => {
        const r = await client.send('app@shop.example.test', [gone, kept], 'From: App <app@shop.example.test>\r\nTo: someone@dest.example\r\nSubject: hi\r\n\r\nHello.\r\n');
        if (r.code !== 250) await client.command('RSET');
        return r;
      },
      { until: (r) => r.code === 250, message: 'the relay to accept' },
    );
    const queueId = accepted.text.split(' ').pop()!;
    await client.quit();
    await eventually(() => getMessage(queueId), { until: (m) => m.status === 'delivered', message: 'the message to be delivered' });

    // One transaction per recipient, each from its own VERP sender at the subdomain.
    const senders = [gone, kept].map((rcpt) => {
      const got = sink.to(rcpt);
      expect(got).toHaveLength(1);
      expect(got[0].to).toEqual([rcpt]);
      return got[0].from;
    });
    for (const from of senders) {
      expect(from).toMatch(/^b-[0-9a-z-]+@bounce\.shop\.example\.test$/);
      expect(from.split('@')[0].length).toBeLessThanOrEqual(64);
    }
    expect(senders[0]).not.toBe(senders[1]);

    // A forged token (one signature character changed) is accepted and changes nothing.
    const forged = senders[0].replace(/([0-9a-f])@/, (_m, ch: string) => `${ch === '0' ? '1' : '0'}@`);
    expect((await report(forged, dsnReport({ to: forged, recipient: gone }))).code).toBe(250);
    const unchanged = await getMessage(queueId);
    expect(unchanged.recipients.map((r: { status: string }) => r.status)).toEqual(['delivered', 'delivered']);
    expect(await suppressed()).toEqual([]);

    // The real DSN for `gone`, to its VERP address, its report part quoted-printable (as Exchange sends it).
    const dsn = await report(senders[0], dsnReport({ to: senders[0], recipient: gone, encoding: 'quoted-printable' }));
    expect(dsn.code).toBe(250);
    const bounced = await eventually(() => getMessage(queueId), { until: (m) => m.recipients[0].status === 'bounced', message: 'the DSN to bounce the recipient' });
    expect(bounced.recipients[0]).toMatchObject({
      address: gone,
      status: 'bounced',
      reply: { code: 550, enhanced: '5.1.1', message: `<${gone}>: Recipient address rejected: User unknown` },
      remoteHost: 'mx.dest.example',
    });
    expect(bounced.recipients[1]).toMatchObject({ address: kept, status: 'delivered' });
    expect(bounced.status).toBe('bounced');
    expect(await suppressed()).toEqual([`${gone} bounce`]);
    const event = await c.events.findById(`${queueId}-bounced-${gone}`);
    expect(event).toMatchObject({ type: 'message.bounced', accountId: acct.id, domainId: d.id });

    // The next RCPT TO the bounced address is refused by the relay.
    const again = await relaySession(d.user);
    expect((await again.command('MAIL FROM:<app@shop.example.test>')).code).toBe(250);
    const refused = await eventually(
      async () => {
        const r = await again.command(`RCPT TO:<${gone}>`);
        if (r.code === 250) await again.command('RSET').then(() => again.command('MAIL FROM:<app@shop.example.test>'));
        return r;
      },
      { until: (r) => r.code === 550, message: 'the relay to refuse the suppressed recipient' },
    );
    expect(refused.raw).toBe('550 5.1.1 Recipient address is suppressed');
    await again.quit();

    // A not-spam ARF report suppresses nobody; an abuse report records a complaint and suppresses.
    expect((await report(senders[1], arfReport({ to: senders[1], recipient: kept, feedbackType: 'not-spam' }))).code).toBe(250);
    expect(await suppressed()).toEqual([`${gone} bounce`]);
    expect((await getMessage(queueId)).recipients[1].complaint).toBeUndefined();
    expect(await c.events.findById(`${queueId}-complained-${kept}`)).toBeNull();

    expect((await report(senders[1], arfReport({ to: senders[1], recipient: kept, feedbackType: 'abuse' }))).code).toBe(250);
    expect((await suppressed()).sort()).toEqual([`${gone} bounce`, `${kept} complaint`]);
    expect((await getMessage(queueId)).recipients[1]).toMatchObject({ address: kept, status: 'delivered', complaint: { feedbackType: 'abuse' } });
    expect(await c.events.findById(`${queueId}-complained-${kept}`)).toMatchObject({ type: 'message.complained', data: { complaint: { feedbackType: 'abuse' } } });

    // The intake takes RCPT only at verified return paths.
    const { client: mta } = await SmtpTestClient.connect(bounce.port);
    await mta.ehlo('mx.dest.example');
    expect((await mta.command('MAIL FROM:<>')).code).toBe(250);
    expect((await mta.command('RCPT TO:<b-x@bounce.names.example.test>')).raw).toMatch(/^550 5\.1\.1 /);
    expect((await mta.command('RCPT TO:<postmaster@shop.example.test>')).raw).toMatch(/^550 5\.1\.1 /);
    // At a verified return path: only what has the shape of a VERP token, refused at RCPT otherwise, and postmaster (RFC 5321 §4.5.1).
    for (const local of ['someone', 'b-x', 'b-abcdefgh-0-nothex', senders[0].split('@')[0].slice(0, -1)]) {
      expect((await mta.command(`RCPT TO:<${local}@bounce.shop.example.test>`)).raw).toBe('550 5.1.1 Recipient address rejected: not a bounce address');
    }
    expect((await mta.command('RCPT TO:<PostMaster@bounce.shop.example.test>')).code).toBe(250);
    // A well-formed token whose signature does not verify is taken (and dropped at DATA, as above): the reply tells a forger nothing.
    expect((await mta.command(`RCPT TO:<${forged}>`)).code).toBe(250);
    await mta.quit();

    // A report over the size limit is refused, and changes nothing.
    const huge = arfReport({ to: senders[0], recipient: gone, feedbackType: 'abuse' }).replace('Hello there.', 'x'.repeat(70) + '\r\n'.repeat(1) + `${'y'.repeat(76)}\r\n`.repeat(1000));
    expect((await report(senders[0], huge)).raw).toMatch(/^552 5\.3\.4 /);
    expect((await getMessage(queueId)).recipients[0].complaint).toBeUndefined();
  });

  it('reports a CNAME at the subdomain as a failure, with the hint to replace it, without touching the domain', async () => {
    const d = await verifiedDomain('cname.example.test');
    await putReturnPath(d.id, { subdomain: 'bounce.cname.example.test' }).expect(200);
    dns.publish('bounce.cname.example.test', 'CNAME', ['bounces.esp.mw.test']);
    const failing = await eventually(() => getDomain(d.id), {
      until: (x) => x.returnPath?.records[0].status === 'fail' && x.returnPath.records[1].status === 'fail',
      message: 'the CNAME to be reported',
    });
    for (const r of failing.returnPath.records) {
      expect(r.status).toBe('fail');
      expect(r.host).toBe('bounce.cname');
      // The diagnosis first, then the per-nameserver verdicts it explains.
      expect(r.reason).toMatch(/^a CNAME \(to bounces\.esp\.mw\.test\) is published at bounce\.cname\.example\.test, which also needs MX and TXT records/);
      expect(r.reason).toMatch(/bounce\.cname\.example\.test is a CNAME \(to bounces\.esp\.mw\.test\)/);
      expect(r.hint).toBe('Delete the CNAME at host "bounce.cname", then add the MX and TXT records at host "bounce.cname".');
    }
    expect(failing.returnPath.status).toBe('pending');
    expect(failing.returnPath.applies).toBe('use_sender');
    expect(failing.status).toBe('verified');
    expect(failing.sending.allowed).toBe(true);
  });

  it('names the zone typed twice into the host of both records, with the host label to type instead', async () => {
    const d = await verifiedDomain('twice.example.test');
    const put = await putReturnPath(d.id, { subdomain: 'bounce.twice.example.test' }).expect(200);
    const spfStrings = put.body.returnPath.records[1].strings;
    // The owner typed the full name into the host field of example.test's form; the provider appended the zone.
    const doubled = 'bounce.twice.example.test.example.test';
    dns.publish(doubled, 'MX', [{ preference: 10, exchange: MX_HOST }]);
    dns.publish(doubled, 'TXT', [spfStrings]);
    const failing = await eventually(() => getDomain(d.id), {
      until: (x) => x.returnPath?.records.every((r: { hint: string | null }) => r.hint !== null),
      message: 'both records to be diagnosed',
    });
    const move = (record: string) =>
      `Move the ${record} record from host "bounce.twice.example.test" to host "bounce.twice" (in the zone example.test; the provider appends the zone itself).`;
    expect(failing.returnPath.records.map((r: { status: string; host: string; hint: string }) => [r.status, r.host, r.hint])).toEqual([
      ['fail', 'bounce.twice', move('MX')],
      ['fail', 'bounce.twice', move('SPF TXT')],
    ]);
    expect(failing.returnPath.records[0].reason).toMatch(
      /^the MX record is published at bounce\.twice\.example\.test\.example\.test: the zone was typed into the host, and the DNS provider appended example\.test again; /,
    );
    expect(failing.returnPath.status).toBe('pending');

    // Moved where the hint says: both pass, and the hints are gone.
    dns.unpublish(doubled, 'MX');
    dns.unpublish(doubled, 'TXT');
    dns.publish('bounce.twice.example.test', 'MX', [{ preference: 10, exchange: MX_HOST }]);
    dns.publish('bounce.twice.example.test', 'TXT', [spfStrings]);
    const fixed = await eventually(() => getDomain(d.id), { until: (x) => x.returnPath?.status === 'verified', message: 'the return path to verify' });
    expect(fixed.returnPath.records.map((r: { hint: string | null }) => r.hint)).toEqual([null, null]);
  });

  it('with fallback reject, the relay answers 451 4.7.1 at MAIL FROM until the return path verifies', async () => {
    const d = await verifiedDomain('strict.example.test');
    const put = await putReturnPath(d.id, { subdomain: 'rp.strict.example.test', fallback: 'reject' }).expect(200);
    expect(put.body.returnPath).toMatchObject({ fallback: 'reject', applies: 'reject' });
    const client = await relaySession(d.user);
    const refused = await eventually(
      async () => {
        const r = await client.command('MAIL FROM:<app@strict.example.test>');
        if (r.code === 250) await client.command('RSET');
        return r;
      },
      { until: (r) => r.code === 451, message: 'the relay to refuse the sender' },
    );
    expect(refused.raw).toBe('451 4.7.1 Return path not verified for strict.example.test');
    // Other MTAs asking for the relay's decision learn the return-path one too.
    expect(await policyFor('app@strict.example.test')).toMatchObject({ allowed: true, domainId: d.id, returnPath: 'reject' });

    dns.publish('rp.strict.example.test', 'MX', [{ preference: 10, exchange: MX_HOST }]);
    dns.publish('rp.strict.example.test', 'TXT', [`v=spf1 include:${INCLUDE} ~all`]);
    await eventually(() => getDomain(d.id), { until: (x) => x.returnPath?.applies === 'verp', message: 'the return path to verify' });
    const allowed = await eventually(
      async () => {
        const r = await client.command('MAIL FROM:<app@strict.example.test>');
        await client.command('RSET');
        return r;
      },
      { until: (r) => r.code === 250, message: 'the relay to accept the sender' },
    );
    expect(allowed.code).toBe(250);
    await client.quit();
    expect(await policyFor('app@strict.example.test')).toMatchObject({ allowed: true, returnPath: 'verp' });
    expect(await policyFor('app@unknown.example.test')).toEqual({ sender: 'app@unknown.example.test', allowed: false, reason: expect.any(String) });
  });

  it('holds mail accepted while the return path was verified, when at delivery it is not and the fallback is reject; sends it from a VERP sender once it verifies again', async () => {
    const d = await verifiedDomain('later.example.test');
    const put = await putReturnPath(d.id, { subdomain: 'rp.later.example.test', fallback: 'reject' }).expect(200);
    const mx = { preference: 10, exchange: MX_HOST };
    dns.publish('rp.later.example.test', 'MX', [mx]);
    dns.publish('rp.later.example.test', 'TXT', [put.body.returnPath.records[1].strings]);
    await eventually(() => getDomain(d.id), { until: (x) => x.returnPath?.applies === 'verp', message: 'the return path to verify' });

    // A backlog: the message is accepted while the return path is verified, and it stops verifying before the message's turn.
    const delivery = c.queues.get(QUEUES.delivery);
    await delivery.pause();
    const to = 'later@dest.example';
    let queueId: string;
    try {
      const client = await relaySession(d.user);
      const accepted = await eventually(
        async () => {
          const r = await client.send('app@later.example.test', [to], 'From: App <app@later.example.test>\r\nTo: later@dest.example\r\nSubject: hi\r\n\r\nHello.\r\n');
          if (r.code !== 250) await client.command('RSET');
          return r;
        },
        { until: (r) => r.code === 250, message: 'the relay to accept' },
      );
      queueId = accepted.text.split(' ').pop()!;
      await client.quit();
      dns.unpublish('rp.later.example.test', 'MX');
      await eventually(() => getDomain(d.id), { until: (x) => x.returnPath?.status === 'suspended', message: 'the return path to be suspended' });
    } finally {
      await delivery.resume();
    }

    const held = await eventually(() => getMessage(queueId), { until: (m) => m.status === 'held', message: 'the message to be held' });
    expect(held.hold.reason).toBe('the return path rp.later.example.test is not verified and its fallback is reject: held until it verifies again');
    expect(held.recipients[0]).toMatchObject({ address: to, status: 'held' });
    expect(sink.to(to)).toHaveLength(0);

    // Verified again: the held message leaves at once, from its VERP sender, never from the client's.
    dns.publish('rp.later.example.test', 'MX', [mx]);
    const delivered = await eventually(() => getMessage(queueId), { until: (m) => m.status === 'delivered', message: 'the message to be delivered' });
    const statuses = delivered.attempts.map((a: { status: string }) => a.status);
    expect(statuses.at(-1)).toBe('delivered');
    expect(statuses.slice(0, -1).every((x: string) => x === 'held')).toBe(true);
    expect(sink.to(to).map((m) => m.from)).toEqual([expect.stringMatching(/^b-[0-9a-z-]+@rp\.later\.example\.test$/)]);
  });

  it('the bounce intake closes a connection that lasts too long, with 421 4.4.2', async () => {
    const short = await createTestContainer({ BOUNCE_SMTP_PORT: '0', SMTP_HOST: '127.0.0.1' }, { bounceLimits: { maxConnectionMs: 300 } });
    const intake = await short.start('bounce');
    try {
      const { client, greeting } = await SmtpTestClient.connect(intake.port);
      expect(greeting.code).toBe(220);
      expect((await client.ehlo('slow.example')).code).toBe(250);
      // Nothing more is sent: the idle timeout (60 s) is far away, the time limit is not.
      expect((await client.next()).raw).toBe('421 4.4.2 Connection time limit exceeded, closing connection');
      await client.whenClosed();
    } finally {
      await intake.close();
      await short.dispose();
    }
  });
});
