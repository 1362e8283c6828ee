import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config';
import { createContainer, type Container, type ContainerOptions } from '../../src/container';
import type { DestinationStream } from 'pino';
import { createLogger } from '../../src/logger';

export const ADMIN_KEY = `mwa_test_${'a'.repeat(40)}`;

/** A short unique name for a database, queue prefix or the like. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** The environment a test container runs with; stores come from the global setup. */
export function testEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const mongo = process.env.MW_TEST_MONGODB_URI;
  const redis = process.env.MW_TEST_REDIS_URL;
  if (!mongo || !redis) throw new Error('integration tests need test/support/global-setup.ts (run them through jest)');
  return {
    NODE_ENV: 'test',
    MONGODB_URI: mongo,
    REDIS_URL: redis,
    MASTER_KEY: randomBytes(32).toString('base64'),
    ADMIN_API_KEY: ADMIN_KEY,
    DNS_RESOLVERS: '127.0.0.1:53',
    // The test DNS servers live on 127.0.0.x; tests that need the production guard set 'false'.
    DNS_ALLOW_PRIVATE: 'true',
    LOG_LEVEL: 'silent',
    QUEUE_PREFIX: `{${uniqueName('mwt')}}`,
    // Tests send in bursts; the per-domain rate is tested with limits set through the admin route.
    DEFAULT_RATE_PER_SECOND: '10000',
    // Likewise the API's token bucket per key: quotas.test.ts sets the production 20/50 itself.
    API_RATE_PER_SECOND: '10000',
    API_RATE_BURST: '10000',
    // The implicit-TLS listener of a started relay takes a free port, like SMTP_PORT 0 does.
    SMTPS_PORT: '0',
    ...overrides,
  };
}

export interface TestContainer extends Container {
  /** Drops this container's database and closes every connection. */
  dispose(): Promise<void>;
}

export interface TestContainerOptions extends ContainerOptions {
  /** Where the container's log lines go (with LOG_LEVEL set), for tests that read them. */
  logTo?: DestinationStream;
}

/** A container on a database of its own. */
export async function createTestContainer(
  overrides: Record<string, string | undefined> = {},
  { logTo, ...options }: TestContainerOptions = {},
): Promise<TestContainer> {
  const config: Config = loadConfig(testEnv(overrides));
  const dbName = options.dbName ?? uniqueName('t');
  const container = await createContainer(config, createLogger(config.logLevel, logTo), { ...options, dbName });
  return Object.assign(container, {
    async dispose() {
      await container.mongo.dropDatabase().catch(() => {});
      await container.close();
    },
  });
}
