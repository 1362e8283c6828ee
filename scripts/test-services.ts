/**
 * Prepares or shows the services the tests use (DESIGN §8), through the same chain
 * as test/support/global-setup.ts:
 *   node dist/scripts/test-services.js prepare   builds FerretDB once if it is needed
 *   node dist/scripts/test-services.js check     finds or starts MongoDB and Redis, prints them, stops them
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureFerretdb } from '../src/dev/ferretdb';
import { findOrStartMongo, findOrStartRedis } from '../src/dev/services';

async function run(cmd: string): Promise<number> {
  const log = (m: string) => process.stderr.write(`[test services] ${m}\n`);
  if (cmd === 'prepare') {
    if (process.env.MONGODB_URI) return log('MONGODB_URI is set: nothing to build'), 0;
    const bin = await ensureFerretdb(process.env, log);
    log(bin ? `FerretDB ready at ${bin}` : 'FerretDB cannot be built here (no Go); tests need MONGODB_URI or mongodb-memory-server');
    return 0;
  }
  if (cmd === 'check') {
    const opts = { env: process.env, log, scratchDir: mkdtempSync(join(tmpdir(), 'mailwarden-check-')) };
    const mongo = await findOrStartMongo(opts);
    const redis = await findOrStartRedis(opts);
    process.stdout.write(`MongoDB: ${mongo.source} ${mongo.uri}\nRedis: ${redis.source} ${redis.uri}\n`);
    await redis.stop();
    await mongo.stop();
    return 0;
  }
  process.stderr.write('usage: test-services <prepare|check>\n');
  return 2;
}

run(process.argv[2] ?? 'check').then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`test-services: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
