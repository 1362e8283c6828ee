import mongoose, { type Connection } from 'mongoose';
import { Redis } from 'ioredis';
import { AccountService } from './accounts/account.service';
import { AccountStore } from './accounts/account.store';
import { systemClock, type Clock } from './clock';
import type { Config } from './config';
import { ApprovalService } from './domains/approval.service';
import { ApprovalStore } from './domains/approval.store';
import { CheckStore } from './domains/check.store';
import { randomJitter } from './domains/domain-state';
import { DomainService } from './domains/domain.service';
import { EventStore } from './domains/event.store';
import { LifecycleService } from './domains/lifecycle.service';
import { createQueueConnection, QueueRegistry } from './queue/queues';
import { RedisLock } from './queue/redis-lock';
import { FixedWindowLimiter } from './limits/fixed-window-limiter';
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
  /** Delay spreading for the state machine (tests pass the identity). */
  jitter?: (ms: number) => number;
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
  const approvalStore = new ApprovalStore(mongo);
  const checkStore = new CheckStore(mongo);
  const eventStore = new EventStore(mongo);
  await Promise.all([accountStore.init(), domainStore.init(), checkStore.init(), eventStore.init()]);

  const cipher = new KeyCipher([config.masterKey]);
  const accounts = new AccountService(accountStore, clock, config.adminApiKey);
  const domains = new DomainService(domainStore, cipher, clock, {
    spfIncludeDomain: config.spf.includeDomain,
    propagationWindowMs: config.verification.propagationWindowMs,
  });
  const approval = new ApprovalService(approvalStore, clock);

  const dnsClient = new DnsClient({ timeoutMs: config.dns.timeoutMs, retries: 1, maxConcurrent: 256 });
  const recursive = new RecursiveResolver(dnsClient, config.dns.resolvers);
  const verifier = new DnsVerifier(dnsClient, recursive, new NameserverDiscovery(recursive, clock), {
    authPort: config.dns.authPort,
    outboundIps: config.spf.outboundIps,
    helo: config.smtp.hostname,
  });

  const queueConnection = createQueueConnection(config.redisUrl);
  queueConnection.on('error', (err) => logger.warn({ err: err.message }, 'queue redis connection error'));
  const queues = new QueueRegistry(queueConnection, config.queuePrefix);
  const lifecycle = new LifecycleService(
    domainStore,
    checkStore,
    eventStore,
    verifier,
    new RedisLock(redis, config.queuePrefix),
    new FixedWindowLimiter(redis, config.queuePrefix),
    queues,
    redis,
    clock,
    logger,
    {
      policy: {
        propagationScheduleMs: config.verification.propagationScheduleMs,
        recheckIntervalMs: config.verification.recheckIntervalMs,
        confirmDelayMs: config.verification.confirmDelayMs,
        degradedAfterMs: config.verification.degradedAfterMs,
        approvalMode: config.verification.approvalMode,
        jitter: options.jitter ?? randomJitter,
      },
      propagationWindowMs: config.verification.propagationWindowMs,
      invalidationChannel: `${config.queuePrefix}:policy-invalidate`,
      sweepBatchSize: config.verification.sweepBatchSize,
      retention: { maxAgeMs: config.verification.checkRetentionMs, perDomain: config.verification.checkHistoryPerDomain },
      verifyLimit: { max: 5, windowMs: 60_000 },
    },
  );

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
    approval,
    lifecycle,
    checks: checkStore,
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
    stores: { accounts: accountStore, domains: domainStore, approval: approvalStore },
    services: { accounts, domains, approval },
    dns: { client: dnsClient, verifier },
    lifecycle,
    queues,
    events: eventStore,
    checks: checkStore,
    http,
    /** Closes every connection the container opened. Safe to call twice. */
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      dnsClient.close();
      await queues.close();
      await queueConnection.quit().catch(() => queueConnection.disconnect());
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
      await mongo.close();
    },
  };
}

export type Container = Awaited<ReturnType<typeof createContainer>>;
