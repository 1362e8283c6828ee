import request from 'supertest';
import { JobProducer } from '../../src/queue/producers';
import { QUEUES } from '../../src/queue/queues';
import { sweepProcessor } from '../../workers/sweep.processor';
import { createAccount, registerDomain } from '../support/factories';
import { createTestContainer, type TestContainer } from '../support/services';

describe('sweeper', () => {
  let c: TestContainer;

  beforeAll(async () => {
    // Batches of 2, so that every test crosses batch boundaries and exercises the cursor.
    c = await createTestContainer({ SWEEP_BATCH_SIZE: '2' });
  });
  afterAll(async () => {
    for (const q of [QUEUES.dnsCheck, QUEUES.webhook, QUEUES.webhookDispatch]) await c.queues.get(q).obliterate({ force: true });
    await c.dispose();
  });

  async function deleteQueueKeys(): Promise<number> {
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await c.redis.scan(cursor, 'MATCH', `${c.config.queuePrefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await c.redis.del(...keys);
    } while (cursor !== '0');
    return deleted;
  }

  it('enqueues each due domain once, even from two sweeps at once, and rebuilds the work after Redis loses it', async () => {
    const acct = await createAccount(c.http);
    const ids: string[] = [];
    for (const n of [1, 2, 3, 4, 5]) ids.push((await registerDomain(c.http, acct, `s${n}.example.test`, 'ed25519')).id);
    const queue = c.queues.get(QUEUES.dnsCheck);

    const [a, b] = await Promise.all([c.lifecycle.sweep(), c.lifecycle.sweep()]);
    expect(a).toBe(5);
    expect(b).toBe(5);
    const jobs = await queue.getJobs(['waiting']);
    expect(jobs.map((j) => j.data.domainId).sort()).toEqual([...ids].sort());
    expect(new Set(jobs.map((j) => j.id)).size).toBe(5);

    expect(await deleteQueueKeys()).toBeGreaterThan(0);
    expect((await queue.getJobCounts('waiting')).waiting).toBe(0);
    await c.lifecycle.sweep();
    expect((await queue.getJobs(['waiting'])).map((j) => j.data.domainId).sort()).toEqual([...ids].sort());
  });

  it('does not enqueue a domain that is not due or was deleted', async () => {
    const acct = await createAccount(c.http, 'Later');
    const d = await registerDomain(c.http, acct, 'notdue.example.test', 'ed25519');
    await c.mongo.collection('domains').updateOne({ _id: d.id } as never, { $set: { nextCheckAt: new Date(Date.now() + 3600_000) } });
    const queue = c.queues.get(QUEUES.dnsCheck);
    await queue.drain(true);
    await c.lifecycle.sweep();
    expect((await queue.getJobs(['waiting'])).map((j) => j.data.domainId)).not.toContain(d.id);
  });

  it('fans no event out during a tick: it enqueues checks and one webhook-dispatch scan, deduplicated', async () => {
    const acct = await createAccount(c.http, 'Busy tenant');
    const d = await registerDomain(c.http, acct, 'fanout.example.test', 'ed25519');
    for (let i = 0; i < 3; i++) {
      await request(c.http).post('/v1/webhooks').set(acct.auth).send({ url: `https://hooks${i}.example.net/x`, events: ['domain.suspended'] }).expect(201);
    }
    await c.events.insertOnce({ _id: `${d.id}-5`, type: 'domain.suspended', accountId: acct.id, domainId: d.id, version: 5, data: { id: d.id }, createdAt: new Date() });
    const tick = sweepProcessor(c.lifecycle, c.messageRecovery, new JobProducer(c.queues, { deliveryRetryBaseMs: 1000, deliveryMaxAgeMs: 3600_000, webhookRetryBaseMs: 1000 }));
    await tick();
    await tick();
    // The check was enqueued; the event is still waiting for its own fan-out job.
    expect((await c.queues.get(QUEUES.dnsCheck).getJobs(['waiting'])).map((j) => j.data.domainId)).toContain(d.id);
    expect((await c.events.findById(`${d.id}-5`))?.dispatched).toBe(false);
    expect(await c.queues.get(QUEUES.webhook).count()).toBe(0);
    const scans = await c.queues.get(QUEUES.webhookDispatch).getJobs(['waiting']);
    expect(scans.map((j) => [j.id, j.data])).toEqual([['dispatch-pending', {}]]);
  });
});
