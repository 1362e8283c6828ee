import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findOrStartMongo, findOrStartRedis, type ServiceHandle } from './services';

/**
 * `npm start` outside production: fills in what is missing and says what it filled in
 * (DESIGN §7). Secrets are generated once into DATA_DIR; stores come from the same
 * discovery chain the tests use.
 */
export interface DevEnvironment {
  env: Record<string, string | undefined>;
  filled: string[];
  services: ServiceHandle[];
  stop(): Promise<void>;
}

interface DevSecrets {
  MASTER_KEY: string;
  ADMIN_API_KEY: string;
}

function loadOrCreateSecrets(dataDir: string, announce: (m: string) => void): { secrets: DevSecrets; created: boolean } {
  const file = join(dataDir, 'secrets.json');
  if (existsSync(file)) return { secrets: JSON.parse(readFileSync(file, 'utf8')) as DevSecrets, created: false };
  const secrets: DevSecrets = {
    MASTER_KEY: randomBytes(32).toString('base64'),
    ADMIN_API_KEY: `mwa_${randomBytes(32).toString('base64url')}`,
  };
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  // Printed once, on the terminal only: never through the logger.
  announce(
    `\n  mailwarden: generated ${file}\n  Admin API key (shown once, keep it): ${secrets.ADMIN_API_KEY}\n\n`,
  );
  return { secrets, created: true };
}

export async function prepareDevEnvironment(
  input: Record<string, string | undefined>,
  log: (message: string) => void,
  announce: (message: string) => void,
): Promise<DevEnvironment> {
  const env = { ...input };
  const dataDir = resolve(env.DATA_DIR || './data');
  const filled: string[] = [];
  const services: ServiceHandle[] = [];
  const stop = async () => {
    for (const s of services.reverse()) await s.stop();
  };

  if (!env.MASTER_KEY || !env.ADMIN_API_KEY) {
    const { secrets } = loadOrCreateSecrets(dataDir, announce);
    for (const key of ['MASTER_KEY', 'ADMIN_API_KEY'] as const) {
      if (!env[key]) {
        env[key] = secrets[key];
        filled.push(`${key} (from ${join(dataDir, 'secrets.json')})`);
      }
    }
  }
  try {
    const opts = { env, log, persistDir: dataDir, scratchDir: join(dataDir, 'run') };
    if (!env.MONGODB_URI) {
      const mongo = await findOrStartMongo(opts);
      services.push(mongo);
      env.MONGODB_URI = mongo.uri.replace(/\/$/, '/mailwarden');
      filled.push(`MONGODB_URI (${mongo.source}: ${env.MONGODB_URI})`);
    }
    if (!env.REDIS_URL) {
      const redis = await findOrStartRedis(opts);
      services.push(redis);
      env.REDIS_URL = redis.uri;
      filled.push(`REDIS_URL (${redis.source}: ${redis.uri})`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { env, filled, services, stop };
}
