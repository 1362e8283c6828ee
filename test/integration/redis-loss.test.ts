import { randomBytes } from 'node:crypto';
import type { RunningWorkerRole } from '../../src/container';
import { QUEUES } from '../../src/queue/queues';
import { eventually } from '../support/eventually';
import { createAccount, registerDomain, spooledMessage, type TestAccount } from '../support/factories';
import { createTestContainer, type TestContainer } from '../support/services';
import { SmtpSink, smarthostEnv } from '../support/smtp-sink';

/** Redis restarted empty: the worker notices within seconds and rebuilds the queue from MongoDB. */
describe('a Redis data loss', () => {
  let sink: SmtpSink;
  let c: TestContainer;
  let workers: RunningWorkerRole;
  let acct: TestAccount;
  let domain: { id: string; domain: string };

  beforeAll(async () => {
    sink = await SmtpSink.start();
    c = await createTestContainer({
      ...smarthostEnv(sink),
      SWEEP_INTERVAL_MS: '3600000',
    });
    acct = await createAccount(c.http);
    domain = await registerDomain(c.http, acct, 'loss.example.test', 'ed25519');
    await c.mongo.collection('domains').updateOne({ _id: domain.id } as never, { $set: { status: 'verified', approval: 'approved' } });
    workers = await c.start('worker', { workers: { dnsConcurrency: 1 } });
  });
  afterAll(async () => {
    await workers.close();
    await c.dispose();
    await sink.close();
  });

  /** Deletes every key of this container's prefix: what a Redis restarted without persistence holds of it. */
  async function wipeRedis(): Promise<void> {
    const keys = await c.redis.keys(`${c.config.queuePrefix}*`);
    if (keys.length) await c.redis.del(...keys);
  }

  it('re-adds the delivery jobs of unfinished messages and the sweep schedule, without waiting for the stuck-message sweep', async () => {
    const sweep = c.queues.get(QUEUES.sweep);
    expect((await sweep.getJobSchedulers()).map((s) => s.key)).toEqual(['sweeper']);
    // Spooled while Redis was up; its job went with the data.
    const to = `r.${randomBytes(4).toString('hex')}@dest.example`;
    const doc = spooledMessage({ accountId: acct.id, domain, to: [to], raw: `From: <a@${domain.domain}>\r\nTo: ${to}\r\nSubject: lost job\r\n\r\nHello.\r\n` });
    await c.messages.insert(doc);
    await wipeRedis();
    expect(await sweep.getJobSchedulers()).toEqual([]);

    await eventually(() => expect(sink.to(to)).toHaveLength(1), { timeoutMs: 20_000, message: 'the message delivered after the wipe' });
    await eventually(async () => expect((await c.messages.findById(doc._id))?.status).toBe('delivered'));
    expect((await sweep.getJobSchedulers()).map((s) => s.key)).toEqual(['sweeper']);
  });
});
