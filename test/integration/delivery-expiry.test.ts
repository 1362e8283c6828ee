import { randomBytes } from 'node:crypto';
import type { RunningWorkers } from '../../workers';
import type { MessageDoc } from '../../src/messages/message.model';
import { deliveryJob, deliveryJobOptions } from '../../src/queue/delivery-jobs';
import { QUEUES } from '../../src/queue/queues';
import { eventually } from '../support/eventually';
import { createAccount, registerDomain, type TestAccount, spooledMessage } from '../support/factories';
import { createTestContainer, type TestContainer } from '../support/services';
import { SmtpSink, smarthostEnv } from '../support/smtp-sink';

const MAX_AGE_MS = 1500;

describe('DELIVERY_MAX_AGE_MS: a recipient still deferred or held when its message is that old bounces as expired', () => {
  let sink: SmtpSink;
  let c: TestContainer;
  let workers: RunningWorkers;
  let acct: TestAccount;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    c = await createTestContainer({
      ...smarthostEnv(sink),
      // Retries every 200 ms, 400 ms, 800 ms …: far more of them than fit in MAX_AGE_MS.
      DELIVERY_RETRY_BASE_MS: '200',
      DELIVERY_MAX_AGE_MS: String(MAX_AGE_MS),
      SWEEP_INTERVAL_MS: '3600000',
    });
    workers = await c.start('worker', { workers: { dnsConcurrency: 1 } });
    acct = await createAccount(c.http, 'Expiry Co');
  });

  afterAll(async () => {
    await workers.close();
    await c.dispose();
    await sink.close();
  });

  async function spool(domain: { id: string; domain: string }, to: string): Promise<MessageDoc> {
    const raw = Buffer.from(`From: <sender@${domain.domain}>\r\nTo: <${to}>\r\nSubject: expiry\r\n\r\nHello.\r\n`);
    const doc = spooledMessage({ accountId: acct.id, domain, to: [to], raw });
    await c.messages.insert(doc);
    await c.queues.get(QUEUES.delivery).add(...deliveryJob(c.config, doc._id));
    return doc;
  }

  const finished = (queueId: string) =>
    eventually(() => c.mongo.collection('messages').findOne({ _id: queueId } as never), {
      until: (m) => m?.status === 'failed',
      timeoutMs: 30_000,
      message: `message ${queueId} to fail`,
    });

  it('bounces a recipient the smarthost keeps deferring (451) once the message is older than DELIVERY_MAX_AGE_MS, long before the retries run out', async () => {
    const domain = await registerDomain(c.http, acct, 'deferred.example.test', 'rsa-2048');
    await c.mongo.collection('domains').updateOne({ _id: domain.id } as never, { $set: { status: 'verified', approval: 'approved' } });
    const to = `r.${randomBytes(3).toString('hex')}@example.net`;
    sink.plan(to, [451]);
    const doc = await spool(domain, to);

    const m = (await finished(doc._id))!;
    expect(m.recipients).toEqual([expect.objectContaining({ address: to, status: 'bounced', reason: 'expired', reply: expect.objectContaining({ code: 451 }) })]);
    const attempts = m.attempts as Array<{ at: Date; status: string; response: string }>;
    // Every attempt before the last deferred; the last one, made once the message was too old, bounced it.
    expect(attempts.slice(0, -1).every((a) => a.status === 'deferred')).toBe(true);
    expect(attempts[attempts.length - 1]).toMatchObject({ status: 'failed', response: expect.stringMatching(/^expired: 451/) });
    expect(new Date(attempts[attempts.length - 1].at).getTime() - new Date(doc.createdAt).getTime()).toBeGreaterThanOrEqual(MAX_AGE_MS);
    expect(attempts.length).toBeLessThan(deliveryJobOptions(c.config).attempts!);
    expect(sink.tries.get(to)).toBe(attempts.length);
    // A 4xx that expired is not a hard bounce: the address is not suppressed.
    expect(await c.mongo.collection('suppressions').countDocuments({ address: to })).toBe(0);
    // The events are written just after the message's final state: wait for them to settle.
    await eventually(async () => {
      const events = (await c.events.listForDomain(domain.id)).filter((e) => e._id.startsWith(doc._id));
      expect(events.map((e) => e.type).sort()).toEqual(['message.bounced', 'message.deferred', 'message.failed']);
    });
  });

  it('bounces a held recipient (its domain may not send) as expired once the message is older than DELIVERY_MAX_AGE_MS', async () => {
    // Registered but never verified nor approved: the sending decision holds its mail.
    const domain = await registerDomain(c.http, acct, 'held.example.test', 'rsa-2048');
    const to = `h.${randomBytes(3).toString('hex')}@example.net`;
    const doc = await spool(domain, to);

    const m = (await finished(doc._id))!;
    expect(m.recipients).toEqual([expect.objectContaining({ address: to, status: 'bounced', reason: 'expired', reply: null })]);
    const attempts = m.attempts as Array<{ status: string; response: string }>;
    expect(attempts.slice(0, -1).every((a) => a.status === 'held')).toBe(true);
    expect(attempts[attempts.length - 1]).toMatchObject({ status: 'failed', response: expect.stringMatching(/^expired: the domain was still not allowed to send/) });
    expect(attempts.length).toBeLessThan(deliveryJobOptions(c.config).attempts!);
    expect(sink.tries.get(to)).toBeUndefined();
  });
});
