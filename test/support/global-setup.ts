import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findOrStartMongo, findOrStartRedis, type ServiceHandle } from '../../src/dev/services';
import { ensureConsoleBuilt } from './console-build';

/**
 * Finds or starts MongoDB (or FerretDB) and Redis once for the integration run
 * (DESIGN §8) and hands their URIs to the test workers through the environment. Builds the
 * owner console first when it is missing or stale (the browser tests open it).
 */
export default async function globalSetup(): Promise<void> {
  const log = (m: string) => process.stderr.write(`[test services] ${m}\n`);
  const scratchDir = mkdtempSync(join(tmpdir(), 'mailwarden-test-'));
  const opts = { env: process.env, log, scratchDir };
  ensureConsoleBuilt(log);
  const handles: ServiceHandle[] = [];
  (globalThis as { __MW_SERVICES__?: ServiceHandle[] }).__MW_SERVICES__ = handles;
  const mongo = await findOrStartMongo(opts);
  handles.push(mongo);
  const redis = await findOrStartRedis(opts);
  handles.push(redis);
  log(`MongoDB: ${mongo.source} (${mongo.uri}); Redis: ${redis.source} (${redis.uri})`);
  process.env.MW_TEST_MONGODB_URI = mongo.uri;
  process.env.MW_TEST_REDIS_URL = redis.uri;
}
