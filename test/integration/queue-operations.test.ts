import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { RunningWorkerRole } from '../../src/container';
import { deliveryJobId, QUEUES } from '../../src/queue/queues';
import { eventually } from '../support/eventually';
import { createAccount, type TestAccount } from '../support/factories';
import { expectMatchesDocument } from '../support/openapi';
import { plainMessage, relaySession, startRelayFixture, type RelayFixture } from '../support/relay-fixture';
import { ADMIN_KEY } from '../support/services';
import { SmtpSink, smarthostEnv } from '../support/smtp-sink';

const admin = { Authorization: `Bearer ${ADMIN_KEY}` };

describe('queue operations (admin): hold, release, retry, cancel, stats', () => {
  let sink: SmtpSink;
  let f: RelayFixture;
  let workers: RunningWorkerRole;
  const rcpt = (domain = 'dest.example') => `r.${randomBytes(4).toString('hex')}@${domain}`;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    f = await startRelayFixture({
      ...smarthostEnv(sink),
      // Ten minutes between attempts: only an operator's retry or release sends mail again within a test.
      DELIVERY_RETRY_BASE_MS: '600000',
      SWEEP_INTERVAL_MS: '3600000',
    });
    workers = await f.c.start('worker', { workers: { dnsConcurrency: 1 } });
  });
  afterAll(async () => {
    await workers.close();
    await f.close();
    await sink.close();
  });

  /** One message through the relay (STARTTLS, AUTH); returns its queueId. */
  async function send(to: string): Promise<string> {
    const client = await relaySession(f.relay.port);
    expect((await client.login(f.username, f.password)).code).toBe(235);
    const reply = await client.send(f.from, [to], plainMessage(f.from));
    await client.quit();
    expect(reply.raw).toMatch(/^250 2\.0\.0 Ok: queued as /);
    return reply.text.split(' ').pop()!;
  }

  const message = async (queueId: string) => {
    const res = await request(f.c.http).get(`/v1/messages/${queueId}`).set(f.acct.auth).expect(200);
    await expectMatchesDocument(f.c.http, res);
    return res.body;
  };
  const messageWhen = (queueId: string, status: string) =>
    eventually(() => message(queueId), { until: (m) => m.status === status, message: `message ${queueId} to be ${status}` });
  const operate = async (op: string, body: object, status = 200) => {
    const res = await request(f.c.http).post(`/v1/admin/queue/${op}`).set(admin).send(body).expect(status);
    await expectMatchesDocument(f.c.http, res);
    return res.body;
  };
  const stats = async (query: Record<string, string> = {}) => {
    const res = await request(f.c.http).get('/v1/admin/queue/stats').query(query).set(admin).expect(200);
    await expectMatchesDocument(f.c.http, res);
    return res.body;
  };
  const jobState = (queueId: string) => f.c.queues.get(QUEUES.delivery).getJobState(deliveryJobId(queueId));

  it('holds the mail of a domain (not attempted, its job ends), counts it, and delivers it once released', async () => {
    const scope = { domainId: f.domain.id };
    expect(await operate('hold', scope)).toEqual({ scope, messages: 0 });
    const to = rcpt('held.example');
    const queueId = await send(to);

    const held = await messageWhen(queueId, 'held');
    expect(held.hold).toEqual({ reason: 'held by an operator (domain)', since: expect.any(String) });
    expect(held.recipients).toEqual([expect.objectContaining({ address: to, status: 'held', reason: 'held by an operator (domain)', attempts: 0 })]);
    // No retry is spent waiting: the job is done until the release.
    await eventually(async () => expect(['completed', 'unknown']).toContain(await jobState(queueId)));
    expect(sink.to(to)).toHaveLength(0);

    const s = await stats(scope);
    expect(s.scope).toEqual(scope);
    expect(s.byStatus.held).toBe(1);
    expect(s.byDestination).toEqual([{ domain: 'held.example', recipients: 1, queued: 0, deferred: 0, held: 1 }]);
    expect(s.byAge[0]).toEqual({ age: '<5m', messages: 1 });
    expect(s.jobs).toBeNull();
    // A second hold is harmless and counts the message waiting.
    expect(await operate('hold', scope)).toEqual({ scope, messages: 1 });

    expect(await operate('release', scope)).toEqual({ scope, messages: 1 });
    const delivered = await messageWhen(queueId, 'delivered');
    expect(delivered.hold).toBeNull();
    expect(delivered.attempts.map((a: { status: string }) => a.status)).toEqual(['held', 'delivered']);
    expect(sink.to(to)).toHaveLength(1);
    expect((await stats(scope)).byStatus).toMatchObject({ held: 0, delivered: expect.any(Number) });
  });

  it("holds an account's mail, and cancels it: its recipients fail with reason cancelled, with a message.failed event, and nothing is sent", async () => {
    const scope = { accountId: f.acct.id };
    await operate('hold', scope);
    const to = rcpt();
    const queueId = await send(to);
    await messageWhen(queueId, 'held');

    expect(await operate('cancel', scope)).toEqual({ scope, messages: 1, busy: 0 });
    const m = await message(queueId);
    expect(m.status).toBe('failed');
    expect(m.recipients).toEqual([expect.objectContaining({ address: to, status: 'failed', reason: 'cancelled' })]);
    expect(m.attempts.at(-1)).toMatchObject({ status: 'failed', code: null, response: 'cancelled by an operator' });
    const event = await f.c.events.findById(`${queueId}-failed`);
    expect(event).toMatchObject({ type: 'message.failed', accountId: f.acct.id, domainId: f.domain.id });

    // Released: nothing is left to send, and a cancelled message stays cancelled.
    expect(await operate('release', scope)).toEqual({ scope, messages: 0 });
    expect(await operate('cancel', scope)).toEqual({ scope, messages: 0, busy: 0 });
    expect((await message(queueId)).status).toBe('failed');
    expect(sink.to(to)).toHaveLength(0);
  });

  it('retries deferred mail now instead of at its next backoff delay, and cancels deferred mail with its job', async () => {
    const scope = { domainId: f.domain.id };
    const later = rcpt('slow.example');
    const dropped = rcpt('slow.example');
    sink.plan(later, [451, 250]);
    sink.plan(dropped, [451]);
    const [retried, cancelled] = [await send(later), await send(dropped)];
    await messageWhen(retried, 'deferred');
    await messageWhen(cancelled, 'deferred');

    const s = await stats();
    expect(s.scope).toBeNull();
    expect(s.byStatus.deferred).toBeGreaterThanOrEqual(2);
    expect(s.byDestination).toContainEqual({ domain: 'slow.example', recipients: 2, queued: 0, deferred: 2, held: 0 });
    expect(s.jobs).toEqual({ waiting: expect.any(Number), active: expect.any(Number), delayed: expect.any(Number), failed: expect.any(Number) });
    expect(s.jobs.delayed).toBeGreaterThanOrEqual(2);

    // Retried now: the first is accepted on its second try, the second is deferred again.
    expect(await operate('retry', scope)).toEqual({ scope, messages: 2 });
    const delivered = await messageWhen(retried, 'delivered');
    expect(delivered.attempts.map((a: { status: string }) => a.status)).toEqual(['deferred', 'delivered']);
    expect(sink.to(later)).toHaveLength(1);
    await eventually(() => message(cancelled), { until: (m) => m.attempts.length === 2 && m.status === 'deferred', message: 'the second message deferred twice' });

    expect(await operate('cancel', { accountId: f.acct.id })).toEqual({ scope: { accountId: f.acct.id }, messages: 1, busy: 0 });
    expect((await message(cancelled)).recipients).toEqual([expect.objectContaining({ address: dropped, status: 'failed', reason: 'cancelled' })]);
    expect(await jobState(cancelled)).toBe('unknown');
    expect(sink.to(dropped)).toHaveLength(0);
  });

  it('refuses a scope that is missing, doubled or unknown, and an account key', async () => {
    const both = await operate('hold', { domainId: f.domain.id, accountId: f.acct.id }, 400);
    expect(both.errors).toEqual([{ field: 'accountId', message: 'give domainId or accountId, not both' }]);
    const none = await operate('retry', {}, 400);
    expect(none.errors).toEqual([{ field: 'domainId', message: 'is required (or accountId)' }]);
    expect((await operate('release', { domainId: 'dom_unknown' }, 404)).detail).toBe('domain not found');
    expect((await operate('cancel', { accountId: 'acc_unknown' }, 404)).detail).toBe('account not found');
    const other: TestAccount = await createAccount(f.c.http, 'Other');
    await request(f.c.http).get('/v1/admin/queue/stats').set(other.auth).expect(403);
    await request(f.c.http).post('/v1/admin/queue/hold').set(other.auth).send({ accountId: other.id }).expect(403);
  });
});
