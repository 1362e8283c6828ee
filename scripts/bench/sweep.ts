/**
 * npm run bench:sweep — the sweeper's tick against 10,000 and then 100,000 domains
 * (bulk-inserted), 1,000 of them due in both cases: the tick should cost O(due) and
 * Redis should hold O(in-flight jobs), whatever the total.
 */
import type { Container } from '../../src/container';
import { newId } from '../../src/ids';
import { QUEUES } from '../../src/queue/queues';
import { benchContainer, median, result, round, runBench, timeMs } from './lib';

const DUE = 1000;
const TICKS = 5;

async function seed(c: Container, from: number, to: number, dueIds: Set<number>): Promise<void> {
  const now = Date.now();
  const col = c.mongo.collection('domains');
  for (let start = from; start < to; start += 2000) {
    const docs = [];
    for (let i = start; i < Math.min(to, start + 2000); i++) {
      const t = new Date(now);
      docs.push({
        _id: newId('dom', now + i),
        accountId: `acc_bench${i % 100}`,
        domain: `d${i}.sweep.bench`,
        status: 'verified',
        approval: 'approved',
        approvalReason: null,
        version: 1,
        spfInclude: '_spf.bench',
        dkim: [],
        records: [],
        dmarc: { found: null, advice: null },
        startedAt: t,
        deadlineAt: t,
        nextCheckAt: dueIds.has(i) ? new Date(now - 1000) : new Date(now + 3600_000 + i),
        lastCheckedAt: null,
        verifiedAt: t,
        suspendedAt: null,
        checkState: null,
        outbox: [],
        outboxSince: null,
        createdAt: t,
        updatedAt: t,
      });
    }
    await col.insertMany(docs as never[], { ordered: false });
  }
}

async function usedMemory(c: Container): Promise<number> {
  const info = await c.redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

/** Median tick over several ticks, each starting from an empty queue; and the Redis bytes its jobs hold. */
async function measure(c: Container): Promise<{ tickMs: number; queryMs: number; enqueued: number; redisBytes: number }> {
  const queue = c.queues.get(QUEUES.dnsCheck);
  const ticks: number[] = [];
  const queries: number[] = [];
  let enqueued = 0;
  let redisBytes = 0;
  for (let i = 0; i < TICKS; i++) {
    await queue.obliterate({ force: true });
    const before = await usedMemory(c);
    ticks.push(await timeMs(async () => (enqueued = await c.lifecycle.sweep())));
    // The due query alone, as the sweep runs it: what the store costs, apart from Redis.
    queries.push(await timeMs(() => c.stores.domains.findDue(new Date(), 1001)));
    redisBytes = (await usedMemory(c)) - before;
  }
  await queue.obliterate({ force: true });
  return { tickMs: median(ticks), queryMs: median(queries), enqueued, redisBytes };
}

async function main() {
  const { c, dispose } = await benchContainer('sweep');
  try {
    // The same 1,000 due domains in both phases, spread over the id range.
    const due = new Set(Array.from({ length: DUE }, (_, k) => k * 10));
    let t = Date.now();
    await seed(c, 0, 10_000, due);
    console.log(`seeded 10,000 domains in ${round((Date.now() - t) / 1000, 1)} s`);
    const small = await measure(c);
    console.log(`10,000 domains:  tick ${round(small.tickMs)} ms (due query ${round(small.queryMs)} ms) for ${small.enqueued} due; Redis +${round(small.redisBytes / 1048576, 2)} MB for the jobs`);

    t = Date.now();
    await seed(c, 10_000, 100_000, due);
    console.log(`seeded 90,000 more in ${round((Date.now() - t) / 1000, 1)} s`);
    const large = await measure(c);
    console.log(`100,000 domains: tick ${round(large.tickMs)} ms (due query ${round(large.queryMs)} ms) for ${large.enqueued} due; Redis +${round(large.redisBytes / 1048576, 2)} MB for the jobs`);
    // The Redis side alone: one addBulk of 1,000 dns-check jobs, as a sweep batch sends it.
    const queue = c.queues.get(QUEUES.dnsCheck);
    const jobs = Array.from({ length: DUE }, (_, i) => ({ name: QUEUES.dnsCheck, data: { domainId: `dom_${i}`, trigger: 'scheduled' }, opts: { jobId: `check-bench-${i}` } }));
    const enqueueMs = await timeMs(() => queue.addBulk(jobs));
    await queue.obliterate({ force: true });
    console.log(`enqueued/s at 100,000: ${round((large.enqueued / large.tickMs) * 1000)} per whole tick; ${round((DUE / enqueueMs) * 1000)} for the enqueue alone (${round(enqueueMs)} ms per 1,000)`);
    console.log(`store: ${c.config.mongodbUri}; FerretDB v1 filters ranges in Go (no index push-down), so there the tick grows with the total; MongoDB uses the nextCheckAt index`);
    result('sweep', {
      tick_ms: round(large.tickMs),
      tick_ms_10k: round(small.tickMs),
      due: large.enqueued,
      total: 100_000,
      enqueued_per_s: round((large.enqueued / large.tickMs) * 1000),
      enqueue_only_per_s: round((DUE / enqueueMs) * 1000),
      query_ms: round(large.queryMs),
      query_ms_10k: round(small.queryMs),
      redis_mb_10k: round(small.redisBytes / 1048576, 2),
      redis_mb_100k: round(large.redisBytes / 1048576, 2),
    });
  } finally {
    await dispose();
  }
}

runBench(main);
