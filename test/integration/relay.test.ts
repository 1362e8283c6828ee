import request from 'supertest';
import type { RunningRelay } from '../../src/relay/relay.server';
import { QUEUES } from '../../src/queue/queues';
import { eventually } from '../support/eventually';
import { createAccount, registerDomain, type TestAccount } from '../support/factories';
import { expectMatchesDocument } from '../support/openapi';
import { createTestContainer, type TestContainer } from '../support/services';
import { SmtpTestClient } from '../support/smtp-client';
import { TcpProxy, type RedisProxy } from '../support/tcp-proxy';

const plain = (from: string, extra = '') =>
  `From: Sender <${from}>\r\nTo: rcpt@dest.example\r\nSubject: hello\r\n${extra}\r\nHello there.\r\n`;

const mixedWithPdf = (from: string) =>
  [
    `From: ${from}`,
    'To: rcpt@dest.example',
    'Subject: invoice',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain',
    '',
    'see attached',
    '--b1',
    'Content-Type: application/pdf',
    'Content-Disposition: attachment; filename="invoice.pdf"',
    'Content-Transfer-Encoding: base64',
    '',
    'JVBERi0xLjQK',
    '--b1--',
    '',
  ].join('\r\n');

const inlineImage = (from: string) =>
  [
    `From: ${from}`,
    'To: rcpt@dest.example',
    'Subject: pic',
    'MIME-Version: 1.0',
    'Content-Type: multipart/related; boundary="b2"',
    '',
    '--b2',
    'Content-Type: text/html',
    '',
    '<img src="cid:logo">',
    '--b2',
    'Content-Type: image/png; name="logo.png"',
    'Content-Disposition: inline; filename="logo.png"',
    'Content-ID: <logo>',
    'Content-Transfer-Encoding: base64',
    '',
    'iVBORw0KGgo=',
    '--b2--',
    '',
  ].join('\r\n');

const octetStream = (from: string) =>
  [`From: ${from}`, 'To: rcpt@dest.example', 'Subject: bin', 'MIME-Version: 1.0', 'Content-Type: application/octet-stream', '', 'AAAA', ''].join('\r\n');

const alternative = (from: string) =>
  [
    `From: ${from}`,
    'To: rcpt@dest.example',
    'Subject: alt',
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="b3"',
    '',
    '--b3',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'plain',
    '--b3',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>html</p>',
    '--b3--',
    '',
  ].join('\r\n');

interface Setup {
  c: TestContainer;
  relay: RunningRelay;
  acct: TestAccount;
  domain: any;
  username: string;
  password: string;
}

async function setup(overrides: Record<string, string> = {}): Promise<Setup> {
  const c = await createTestContainer({ SMTP_PORT: '0', SMTP_HOST: '127.0.0.1', SMTP_MAX_MESSAGE_BYTES: '4096', ...overrides });
  const relay = await c.start('relay');
  const acct = await createAccount(c.http);
  const domain = await registerDomain(c.http, acct, 'sender.example.com', 'ed25519');
  await expectMatchesDocument(c.http, await request(c.http).put(`/v1/domains/${domain.id}/allowed-ips`).set(acct.auth).send({ cidrs: ['127.0.0.1/32', '127.0.0.2/32'] }).expect(200));
  const user = await request(c.http).post(`/v1/domains/${domain.id}/smtp-users`).set(acct.auth).send({}).expect(201);
  await expectMatchesDocument(c.http, user);
  await setStatus(c, domain.id, 'verified', 'approved');
  return { c, relay, acct, domain, username: user.body.username, password: user.body.password };
}

/** What the lifecycle does on a transition: write, then tell relays to forget their decision. */
async function setStatus(c: TestContainer, domainId: string, status: string, approval = 'approved') {
  await c.mongo.collection('domains').updateOne({ _id: domainId } as never, { $set: { status, approval }, $inc: { version: 1 } });
  await c.redis.publish(`${c.config.queuePrefix}:policy-invalidate`, JSON.stringify({ domainId }));
}

/** The allowlist change travels over pub/sub: a connection is let in once it has arrived. */
async function expectLetIn(s: Setup, ip = '127.0.0.1') {
  const { client, greeting } = await SmtpTestClient.connect(s.relay.port, { localAddress: ip });
  await client.quit();
  expect(greeting.code).toBe(220);
}

/**
 * MAIL FROM on an open session until the relay's answer is no longer 250 (the decision
 * travels over pub/sub), and that answer; RSET after each 250.
 */
async function refusal(client: SmtpTestClient, from: string, timeoutMs = 5000) {
  return eventually(
    async () => {
      const reply = await client.command(`MAIL FROM:<${from}>`);
      if (reply.code === 250) await client.command('RSET');
      return reply;
    },
    { until: (reply) => reply.code !== 250, timeoutMs, intervalMs: 10, message: `MAIL FROM:<${from}> to be refused` },
  );
}

describe('SMTP relay: the DESIGN §5 replies over real STARTTLS sessions', () => {
  let s: Setup;
  const from = 'app@sender.example.com';

  beforeAll(async () => {
    s = await setup();
    await eventually(() => expectLetIn(s), { message: 'the allowlist to reach the relay' });
  });
  afterAll(async () => {
    await s.relay.close();
    await s.c.dispose();
  });

  async function session(ip = '127.0.0.1') {
    const { client, greeting } = await SmtpTestClient.connect(s.relay.port, { localAddress: ip });
    expect(greeting.code).toBe(220);
    return client;
  }

  it('refuses a client address that no configuration allows: 554 5.7.1 Access denied', async () => {
    const { client, greeting } = await SmtpTestClient.connect(s.relay.port, { localAddress: '127.0.0.9' });
    expect(greeting.raw).toBe('554 5.7.1 Access denied');
    await client.quit();
  });

  it('neither advertises nor accepts AUTH before STARTTLS', async () => {
    const client = await session();
    const ehlo = await client.ehlo();
    expect(ehlo.lines.join('\n')).toContain('STARTTLS');
    expect(ehlo.lines.join('\n')).not.toMatch(/AUTH/);
    const auth = await client.authPlain(s.username, s.password);
    expect([530, 538]).toContain(auth.code);
    expect(auth.text).toMatch(/STARTTLS/);
    await client.starttls();
    const after = await client.ehlo();
    expect(after.lines.join('\n')).toMatch(/AUTH PLAIN LOGIN/);
    await client.quit();
  });

  it('accepts AUTH PLAIN and AUTH LOGIN, and queues the message: 250 2.0.0 Ok: queued as <queueId>', async () => {
    const client = await session();
    expect((await client.login(s.username, s.password)).code).toBe(235);
    const reply = await client.send(from, ['rcpt@dest.example'], plain(from));
    expect(reply.raw).toMatch(/^250 2\.0\.0 Ok: queued as [0-9a-z]{12}$/);
    const queueId = reply.text.split(' ').pop()!;
    const stored = await s.c.mongo.collection('messages').findOne({ _id: queueId } as never);
    expect(stored).toMatchObject({ status: 'queued', domainId: s.domain.id, envelope: { from, to: ['rcpt@dest.example'] } });
    const job = await s.c.queues.get(QUEUES.delivery).getJob(`deliver-${queueId}`);
    expect(job?.data).toEqual({ queueId });
    await client.quit();

    const login = await session();
    await login.ehlo();
    await login.starttls();
    await login.ehlo();
    expect((await login.authLogin(s.username, s.password)).code).toBe(235);
    expect((await login.send(from, ['x@dest.example'], plain(from))).code).toBe(250);
    await login.quit();
  });

  it('answers bad credentials with 535 5.7.8', async () => {
    const client = await session();
    expect((await client.login(s.username, 'wrong-password')).raw).toBe('535 5.7.8 Authentication failed');
    expect((await client.authPlain('mwnobody', 'x')).raw).toBe('535 5.7.8 Authentication failed');
    await client.quit();
  });

  it('refuses a sender outside the user domain: 553 5.7.1 Sender address not permitted', async () => {
    const client = await session();
    await client.login(s.username, s.password);
    expect((await client.command('MAIL FROM:<app@other.example>')).raw).toBe('553 5.7.1 Sender address not permitted');
    expect((await client.command('MAIL FROM:<app@sub.sender.example.com>')).code).toBe(553);
    // The domain compares case-insensitively.
    expect((await client.command('MAIL FROM:<App@SENDER.Example.com>')).code).toBe(250);
    await client.quit();
  });

  it('refuses a From: header of another domain: 553 5.7.1 From header not permitted', async () => {
    const client = await session();
    await client.login(s.username, s.password);
    expect((await client.send(from, ['r@dest.example'], plain('boss@other.example'))).raw).toBe('553 5.7.1 From header not permitted');
    await client.quit();
  });

  it.each([
    ['multipart/mixed with a PDF', mixedWithPdf],
    ['an inline image with a file name', inlineImage],
    ['application/octet-stream', octetStream],
  ])('refuses %s: 554 5.6.1 Attachments are not supported', async (_label, build) => {
    const client = await session();
    await client.login(s.username, s.password);
    expect((await client.send(from, ['r@dest.example'], build(from))).raw).toBe('554 5.6.1 Attachments are not supported');
    await client.quit();
  });

  it('accepts multipart/alternative with HTML', async () => {
    const client = await session();
    await client.login(s.username, s.password);
    expect((await client.send(from, ['r@dest.example'], alternative(from))).code).toBe(250);
    await client.quit();
  });

  it('refuses a message over SMTP_MAX_MESSAGE_BYTES: 552 5.3.4 Message too big', async () => {
    const client = await session();
    await client.login(s.username, s.password);
    const big = plain(from, '') + 'x'.repeat(70).concat('\r\n').repeat(100);
    expect((await client.send(from, ['r@dest.example'], big)).raw).toBe('552 5.3.4 Message too big');
    // The session goes on.
    expect((await client.send(from, ['r@dest.example'], plain(from))).code).toBe(250);
    await client.quit();
  });

  it('answers 550 within 1 s of a suspension, and accepts again within 1 s of reinstatement', async () => {
    const client = await session();
    await client.login(s.username, s.password);
    expect((await client.command(`MAIL FROM:<${from}>`)).code).toBe(250);
    await client.command('RSET');
    await setStatus(s.c, s.domain.id, 'suspended');
    const reply = await refusal(client, from, 1000);
    expect(reply.raw).toMatch(/^550 5\.7\.1 Sending suspended for sender\.example\.com: .+/);
    await setStatus(s.c, s.domain.id, 'verified');
    await eventually(async () => expect((await client.command(`MAIL FROM:<${from}>`)).code).toBe(250), { timeoutMs: 1000, intervalMs: 10 });
    await client.quit();
  });

  it('refuses an unapproved or unverified domain with 550 and the reason', async () => {
    await setStatus(s.c, s.domain.id, 'verified', 'pending_review');
    const client = await session();
    await client.login(s.username, s.password);
    expect((await refusal(client, from)).raw).toBe('550 5.7.1 Sending suspended for sender.example.com: awaiting review of the questionnaire');
    await client.quit();
    await setStatus(s.c, s.domain.id, 'verified', 'approved');
  });

  it('answers GET /v1/policy?sender= with the relay decision, scoped to the account', async () => {
    const ok = await request(s.c.http).get('/v1/policy').query({ sender: 'app@Sender.Example.com' }).set(s.acct.auth).expect(200);
    expect(ok.body).toMatchObject({ allowed: true, domain: 'sender.example.com', domainId: s.domain.id });
    await expectMatchesDocument(s.c.http, ok);
    const other = await createAccount(s.c.http, 'Other');
    const theirs = await request(s.c.http).get('/v1/policy').query({ sender: 'app@sender.example.com' }).set(other.auth).expect(200);
    expect(theirs.body).toMatchObject({ allowed: false, reason: expect.stringMatching(/not registered/) });
    await expectMatchesDocument(s.c.http, theirs);
    const bad = await request(s.c.http).get('/v1/policy').query({ sender: 'nobody' }).set(s.acct.auth).expect(400);
    expect(bad.body.errors[0].field).toBe('sender');
    await expectMatchesDocument(s.c.http, bad);
  });

  it('locks an address out after repeated AUTH failures, even for good credentials', async () => {
    const client = await session('127.0.0.2');
    await client.login(s.username, 'nope-1');
    for (let i = 2; i <= 5; i++) expect((await client.authPlain(s.username, `nope-${i}`)).code).toBe(535);
    expect((await client.authPlain(s.username, s.password)).raw).toBe('535 5.7.8 Authentication failed');
    await client.quit();
    // Another address is not affected.
    const other = await session('127.0.0.1');
    expect((await other.login(s.username, s.password)).code).toBe(235);
    await other.quit();
  });
});

describe('SMTP relay fails closed when Redis is unreachable', () => {
  let proxy: RedisProxy;
  let s: Setup;

  beforeAll(async () => {
    proxy = await TcpProxy.toTestRedis();
    s = await setup({ REDIS_URL: proxy.redisUrl });
    await eventually(() => expectLetIn(s), { message: 'the allowlist to reach the relay' });
  });
  afterAll(async () => {
    proxy.restore();
    await s.relay.close();
    await s.c.dispose();
    await proxy.close();
  });

  it('answers 451 4.3.0 while Redis is down, and accepts again when it is back', async () => {
    const from = 'app@sender.example.com';
    const { client } = await SmtpTestClient.connect(s.relay.port);
    expect((await client.login(s.username, s.password)).code).toBe(235);
    expect((await client.command(`MAIL FROM:<${from}>`)).code).toBe(250);
    await client.command('RSET');
    proxy.cut();
    // The relay learns of the cut when its subscriber connection closes.
    expect((await refusal(client, from)).raw).toBe('451 4.3.0 Temporary failure, try again later');
    proxy.restore();
    await eventually(async () => expect((await client.command(`MAIL FROM:<${from}>`)).code).toBe(250), { timeoutMs: 15_000, intervalMs: 200 });
    await client.quit();
  });
});
