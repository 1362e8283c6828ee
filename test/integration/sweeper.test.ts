import { QUEUES } from '../../src/queue/queues';
import { createAccount, registerDomain } from '../support/factories';
import { createTestContainer, type TestContainer } from '../support/services';

describe('sweeper', () => {
  let c: TestContainer;

  beforeAll(async () => {
    // Batches of 2, so that every test crosses batch boundaries and exercises the cursor.
    c = await createTestContainer({ SWEEP_BATCH_SIZE: '2' });
  });
  afterAll(async () => {
    await c.queues.get(QUEUES.dnsCheck).obliterate({ force: true });
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
});
