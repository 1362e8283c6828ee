import mongoose, { type Connection } from 'mongoose';
import { Redis } from 'ioredis';
import { AccountService } from './accounts/account.service';
import { AccountStore } from './accounts/account.store';
import { systemClock, type Clock } from './clock';
import type { Config } from './config';
import { DomainService } from './domains/domain.service';
import { DomainStore } from './domains/domain.store';
import { createHttpApp } from './http/app';
import { createHttpMetrics } from './http/metrics';
import { DnsClient } from './dns/dns-client';
import { NameserverDiscovery } from './dns/nameserver-discovery';
import { RecursiveResolver } from './dns/recursive-resolver';
import { KeyCipher } from './keys/key-cipher';
import { DnsVerifier } from './verification/dns-verifier';
import type { Logger } from './logger';
import { VERSION } from './version';

export interface ContainerOptions {
  clock?: Clock;
  /** Database name override (tests give each file its own). */
  dbName?: string;
  /** Collect process-wide default metrics (off in tests, where many containers share a process). */
  defaultMetrics?: boolean;
}

/**
 * THE composition root: the one place that constructs stores, services and adapters.
 * main.ts, workers and test helpers all go through it.
 */
export async function createContainer(config: Config, logger: Logger, options: ContainerOptions = {}) {
  const clock = options.clock ?? systemClock;
  const mongo: Connection = mongoose.createConnection(config.mongodbUri, {
    dbName: options.dbName,
    serverSelectionTimeoutMS: 10_000,
    autoIndex: false,
    autoCreate: false,
  });
  const redis = new Redis(config.redisUrl, {
    lazyConnect: false,
    // Fail commands fast while Redis is away instead of queueing them without bound.
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));

  try {
    await mongo.asPromise();
  } catch (err) {
    redis.disconnect();
    await mongo.close().catch(() => {});
    throw err;
  }

  const accountStore = new AccountStore(mongo);
  const domainStore = new DomainStore(mongo);
  await Promise.all([accountStore.init(), domainStore.init()]);

  const cipher = new KeyCipher([config.masterKey]);
  const accounts = new AccountService(accountStore, clock, config.adminApiKey);
  const domains = new DomainService(domainStore, cipher, clock, {
    spfIncludeDomain: config.spf.includeDomain,
    propagationWindowMs: config.verification.propagationWindowMs,
  });

  const dnsClient = new DnsClient({ timeoutMs: config.dns.timeoutMs, retries: 1, maxConcurrent: 256 });
  const recursive = new RecursiveResolver(dnsClient, config.dns.resolvers);
  const verifier = new DnsVerifier(dnsClient, recursive, new NameserverDiscovery(recursive, clock), {
    authPort: config.dns.authPort,
    outboundIps: config.spf.outboundIps,
    helo: config.smtp.hostname,
  });

  const probes = {
    mongodb: async () => {
      await mongo.db!.admin().ping();
    },
    redis: async () => {
      if (redis.status !== 'ready') throw new Error(`redis is ${redis.status}`);
      await redis.ping();
    },
  };
  const http = createHttpApp({
    logger,
    accounts,
    domains,
    probes,
    metrics: createHttpMetrics(options.defaultMetrics ?? false),
    version: VERSION,
  });

  let closed = false;
  return {
    config,
    logger,
    clock,
    mongo,
    redis,
    cipher,
    stores: { accounts: accountStore, domains: domainStore },
    services: { accounts, domains },
    dns: { client: dnsClient, verifier },
    http,
    /** Closes every connection the container opened. Safe to call twice. */
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      dnsClient.close();
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
      await mongo.close();
    },
  };
}

export type Container = Awaited<ReturnType<typeof createContainer>>;
