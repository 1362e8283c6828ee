import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config';
import { createContainer, type Container } from '../../src/container';
import { findOrStartMongo, findOrStartRedis, type ServiceHandle } from '../../src/dev/services';
import { createLogger } from '../../src/logger';

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export const median = (s: number[]) => percentile(s, 50);
export const round = (n: number, digits = 2) => Number(n.toFixed(digits));

/** Times `fn` once, in milliseconds. */
export async function timeMs(fn: () => unknown): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** Prints the machine-readable last line every benchmark ends with. */
export function result(name: string, figures: Record<string, number | string>): void {
  const parts = Object.entries(figures).map(([k, v]) => `${k}=${v}`);
  process.stdout.write(`RESULT ${name} ${parts.join(' ')}\n`);
}

/** Finds or starts MongoDB and Redis through the same chain as the tests. */
export async function benchServices(): Promise<{ mongoUri: string; mongoSource: string; redisUrl: string; stop(): Promise<void> }> {
  const log = (m: string) => process.stderr.write(`[bench services] ${m}\n`);
  const scratchDir = mkdtempSync(join(tmpdir(), 'mailwarden-bench-'));
  const opts = { env: process.env, log, scratchDir };
  const handles: ServiceHandle[] = [];
  const mongo = await findOrStartMongo(opts);
  handles.push(mongo);
  const redis = await findOrStartRedis(opts);
  handles.push(redis);
  return {
    mongoUri: mongo.uri,
    mongoSource: mongo.source,
    redisUrl: redis.uri,
    stop: async () => {
      for (const h of handles.reverse()) await h.stop();
      rmSync(scratchDir, { recursive: true, force: true });
    },
  };
}

/** Runs `total` calls of `fn` with at most `concurrency` in flight; returns wall-clock ms. */
export async function runConcurrent(total: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await fn(next++);
    }),
  );
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/**
 * A container on the discovered stores with a database and queue prefix of its own;
 * `dispose` drops the database and stops whatever was started.
 */
export async function benchContainer(name: string, env: Record<string, string> = {}): Promise<{ c: Container; dispose(): Promise<void> }> {
  const services = await benchServices();
  const stamp = Date.now().toString(36);
  const config = loadConfig({
    MONGODB_URI: services.mongoUri,
    REDIS_URL: services.redisUrl,
    MASTER_KEY: randomBytes(32).toString('base64'),
    ADMIN_API_KEY: 'bench-admin-key-0123456789abcdef',
    DNS_RESOLVERS: '127.0.0.1',
    LOG_LEVEL: 'silent',
    QUEUE_PREFIX: `{mwbench${stamp}}`,
    ...env,
  });
  const c = await createContainer(config, createLogger('silent'), { dbName: `bench_${name}_${stamp}` });
  return {
    c,
    async dispose() {
      await c.mongo.dropDatabase().catch(() => {});
      await c.close();
      await services.stop();
    },
  };
}

/** Runs a benchmark's main, exiting non-zero on failure. */
export function runBench(main: () => Promise<void>): void {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
