import type { AddressInfo } from 'node:net';
import mongoose, { type Connection } from 'mongoose';
import { Redis } from 'ioredis';
import { AccountService } from './accounts/account.service';
import { AccountStore } from './accounts/account.store';
import { systemClock, type Clock } from './clock';
import type { Config } from './config';
import { ApprovalService } from './approval/approval.service';
import { AllowedIpService } from './allowed-ips/allowed-ip.service';
import { SmtpUserService } from './smtp-users/smtp-user.service';
import { SmtpUserStore } from './smtp-users/smtp-user.store';
import { CheckStore } from './verification/check.store';
import { DOMAIN_STATUSES, randomJitter } from './domains/domain-state';
import { DomainService } from './domains/domain.service';
import { EventStore } from './events/event.store';
import { LifecycleService } from './domains/lifecycle.service';
import { createQueueConnection, QueueRegistry } from './queue/queues';
import { JobProducer } from './queue/producers';
import { RedisLock } from './queue/redis-lock';
import { FixedWindowLimiter } from './limits/fixed-window-limiter';
import { AccountQuota } from './limits/account-quota';
import { TokenBucketLimiter } from './limits/token-bucket-limiter';
import type { RequestLimiter } from './http/rate-limit';
import { SendingQuota } from './limits/sending-quota';
import { DomainQuotaView } from './domains/sending-limits';
import { sendingLimitsRoutes } from './domains/sending-limits.router';
import { SuppressionService } from './suppressions/suppression.service';
import { SuppressionStore } from './suppressions/suppression.store';
import { suppressionsRoutes } from './suppressions/suppressions.router';
import { SuppressionCache } from './relay/suppression-cache';
import { DomainStore } from './domains/domain.store';
import type { Server } from 'node:http';
import { createHttpApp, createMetricsApp } from './http/app';
import { consoleRoutes } from './console/console.router';
import { startWorkers, type RunningWorkers, type WorkerOptions } from '../workers';
import { createMetrics } from './http/metrics';
import { DnsClient } from './dns/dns-client';
import { NameserverDiscovery } from './dns/nameserver-discovery';
import { RecursiveResolver } from './dns/recursive-resolver';
import { KeyCipher } from './keys/key-cipher';
import { DnsVerifier } from './verification/dns-verifier';
import type { Logger } from './logger';
import { VERSION } from './version';
import { WebhookDeliveryService } from './webhooks/webhook-delivery.service';
import { WebhookService } from './webhooks/webhook.service';
import { WebhookStore } from './webhooks/webhook.store';
import type { HostLookup } from './webhooks/ssrf-guard';
import { allowlistChannel, ChangeNotifier, policyChannel, smtpUserRemovedChannel, suppressionChannel, webhookChannel } from './events/change-notifier';
import { InvalidatedCache } from './events/invalidated-cache';
import { SendingPolicy } from './sending-policy/sending-policy.service';
import { policyRoutes } from './sending-policy/policy.router';
import { accountsRoutes } from './accounts/accounts.router';
import { allowedIpsRoutes } from './allowed-ips/allowed-ips.router';
import { approvalRoutes } from './approval/approval.router';
import { domainsRoutes } from './domains/domains.router';
import { lifecycleRoutes } from './domains/lifecycle.router';
import { DkimRotationService } from './domains/dkim-rotation.service';
import { dkimRotationRoutes } from './domains/dkim-rotation.router';
import { messagesRoutes } from './messages/messages.router';
import { smtpUsersRoutes } from './smtp-users/smtp-users.router';
import { webhooksRoutes } from './webhooks/webhooks.router';
import { AllowlistCache } from './relay/allowlist-cache';
import { AuthenticatedSessions } from './relay/authenticated-sessions';
import { InvalidationSubscriber } from './relay/invalidation-subscriber';
import { PolicyCache } from './relay/policy-cache';
import { startRelayServer, type RunningRelay } from './relay/relay.server';
import { RelayService } from './relay/relay.service';
import { tlsSource } from './relay/tls';
import { TrustedProxies } from './relay/proxy-protocol';
import { DeliveryService } from './messages/delivery.service';
import { DeliveryDomainCache } from './messages/delivery-domain-cache';
import { DeliverySnapshots } from './queue/delivery-snapshots';
import { DkimSigner } from './messages/dkim-signer';
import { MessageRecovery } from './messages/message-recovery';
import { MessageStore } from './messages/message.store';
import { SpoolWriter } from './messages/spool-writer';
import { MessageService } from './messages/message.service';
import { createSmarthostTransport } from './messages/smarthost.transport';
import { captureTransport } from './messages/delivery-transport';
import { createMxTransport } from './messages/mx.transport';
import { VerpAddresses } from './messages/verp';
import { ReturnPathService } from './domains/return-path.service';
import { returnPathRoutes } from './domains/return-path.router';
import { BounceService } from './bounces/bounce.service';
import { startBounceServer, type RunningBounceServer } from './bounces/bounce.server';
import { QueueHoldStore } from './messages/queue-hold.store';
import { QueueHolds } from './messages/queue-holds';
import { QueuedMessageStore } from './messages/queued-message.store';
import { QueueOperationsService } from './messages/queue-operations.service';
import { QueueRebuild } from './messages/queue-rebuild';
import { queueOperationsRoutes } from './messages/queue-operations.router';
import { queueHoldChannel } from './events/change-notifier';

export const ROLES = ['api', 'worker', 'relay', 'bounce', 'all'] as const;
export type Role = (typeof ROLES)[number];

export interface StartOptions {
  workers?: WorkerOptions;
}
/** What every started role has besides its own handles. */
export interface RoleHandle {
  close(): Promise<void>;
  /** Drops what close() left open (the shutdown deadline passed); never waits. */
  forceClose(): void;
  /** The port /metrics is served on apart from the API (METRICS_PORT), when it is. */
  metricsPort?: number;
}
export interface RunningApi extends RoleHandle {
  port: number;
}
export type RunningWorkerRole = RunningWorkers & RoleHandle;
export type RunningRelayRole = RunningRelay & RoleHandle & { policy: PolicyCache };
export type RunningBounceRole = RunningBounceServer & RoleHandle;
export interface RunningRoles extends RoleHandle {
  api: RunningApi;
  workers: RunningWorkerRole;
  relay: RunningRelayRole;
  bounce: RunningBounceRole;
}

export interface ContainerOptions {
  clock?: Clock;
  /** Database name override (tests give each file its own). */
  dbName?: string;
  /** How webhook hosts resolve at send time (tests use their own DNS server). */
  webhookLookup?: HostLookup;
  /** Delay spreading for the state machine (tests pass the identity). */
  jitter?: (ms: number) => number;
  /** Collect process-wide default metrics (off in tests, where many containers share a process). */
  defaultMetrics?: boolean;
  /** How long a metrics scrape reuses its store and queue counts (15 s; tests pass 0). */
  metricsSourceCacheMs?: number;
  /** The bounce intake's bounds per connection (default: 5 minutes in all, 60 s of silence). */
  bounceLimits?: { maxConnectionMs?: number; idleTimeoutMs?: number };
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
  const checkStore = new CheckStore(mongo);
  const eventStore = new EventStore(mongo);
  const messageStore = new MessageStore(mongo);
  const smtpUserStore = new SmtpUserStore(mongo);
  await Promise.all([accountStore.init(), domainStore.init(), checkStore.init(), eventStore.init(), smtpUserStore.init()]);
  await messageStore.init();
  // The relay's group commit: concurrent sessions' spool inserts share one journaled write.
  const spool = new SpoolWriter(messageStore);
  const suppressionStore = new SuppressionStore(mongo);
  await suppressionStore.init();

  const queueConnection = createQueueConnection(config.redisUrl);
  queueConnection.on('error', (err) => logger.warn({ err: err.message }, 'queue redis connection error'));
  const queues = new QueueRegistry(queueConnection, config.queuePrefix);
  // One registry for every role this process runs; the gauges read shared state on scrape.
  const metrics = createMetrics({
    defaults: options.defaultMetrics ?? false,
    sourceCacheMs: options.metricsSourceCacheMs,
    domainsByStatus: () => domainStore.countByStatus(DOMAIN_STATUSES),
    queueStats: () => queues.stats(),
  });

  const cipher = new KeyCipher([config.masterKey]);
  const accounts = new AccountService(accountStore, clock, config.adminApiKey);
  const notifier = new ChangeNotifier((channel, message) => redis.publish(channel, message), config.queuePrefix);
  const sendingQuota = new SendingQuota(redis, config.queuePrefix);
  const domainQuota = new DomainQuotaView(sendingQuota, config.sendingLimits, clock, logger);
  const accountQuota = new AccountQuota(redis, config.queuePrefix);
  const domains = new DomainService(domainStore, smtpUserStore, cipher, clock, notifier, domainQuota, accountQuota, {
    spfIncludeDomain: config.spf.includeDomain,
    propagationWindowMs: config.verification.propagationWindowMs,
    maxDomainsPerAccount: config.quotas.domainsPerAccount,
  });
  const approval = new ApprovalService(domainStore, clock, notifier, new RedisLock(redis, config.queuePrefix));
  const smtpUsers = new SmtpUserService(domainStore, smtpUserStore, clock, notifier);
  const allowedIps = new AllowedIpService(domainStore, notifier, clock, new RedisLock(redis, config.queuePrefix));
  const suppressions = new SuppressionService(suppressionStore, notifier, clock, metrics);

  const dnsClient = new DnsClient({ timeoutMs: config.dns.timeoutMs, retries: 1, maxConcurrent: 256, metrics });
  const recursive = new RecursiveResolver(dnsClient, config.dns.resolvers);
  const verifier = new DnsVerifier(dnsClient, recursive, new NameserverDiscovery(recursive, clock), {
    authPort: config.dns.authPort,
    outboundIps: config.spf.outboundIps,
    helo: config.smtp.hostname,
    allowPrivate: config.dns.allowPrivate,
  });

  const deliverySnapshots = new DeliverySnapshots(redis, config.queuePrefix);
  const producer = new JobProducer(
    queues,
    { deliveryRetryBaseMs: config.delivery.retryBaseMs, deliveryMaxAgeMs: config.delivery.maxAgeMs, webhookRetryBaseMs: config.webhooks.retryBaseMs },
    deliverySnapshots,
  );
  const dkimRotationPolicy = {
    retireAfterMs: config.dkim.retireAfterMs,
    propagationScheduleMs: config.verification.propagationScheduleMs,
    propagationWindowMs: config.verification.propagationWindowMs,
    keepRetired: 3,
  };
  const lifecycle = new LifecycleService(
    domainStore,
    checkStore,
    eventStore,
    verifier,
    new RedisLock(redis, config.queuePrefix),
    new FixedWindowLimiter(redis, config.queuePrefix),
    producer,
    notifier,
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
      sweepBatchSize: config.verification.sweepBatchSize,
      retention: { maxAgeMs: config.verification.checkRetentionMs, perDomain: config.verification.checkHistoryPerDomain },
      verifyLimit: { max: 5, windowMs: 60_000 },
      rotation: dkimRotationPolicy,
      metrics,
      returnPathMxHost: config.returnPath.mxHost,
    },
  );
  const dkimRotation = new DkimRotationService(domainStore, lifecycle, cipher, new RedisLock(redis, config.queuePrefix), clock, logger, {
    rotation: dkimRotationPolicy,
    autoRotateAfterMs: config.dkim.autoRotateAfterMs,
    autoRotateBatch: 20,
  });

  const sendingPolicy = new SendingPolicy(domainStore, config.sendingLimits);
  const verp = new VerpAddresses(config.returnPath.verpSecret);
  const returnPaths = new ReturnPathService(domainStore, new RedisLock(redis, config.queuePrefix), producer, notifier, clock, logger, {
    mxHost: config.returnPath.mxHost,
    propagationWindowMs: config.verification.propagationWindowMs,
  });
  // The worker role's policy subscriber, once started: until then every attempt reads its domain.
  let workerChannelLive = (): boolean => false;
  const deliveryDomains = new DeliveryDomainCache(
    async (id) => {
      const decision = await sendingPolicy.forDomain(id);
      const d = decision && (await domainStore.findById(id));
      return { decision: d ? decision : null, dkim: d ? d.dkim : null };
    },
    () => workerChannelLive(),
    clock,
  );
  const queueHoldStore = new QueueHoldStore(mongo);
  const queueHolds = new QueueHolds(() => queueHoldStore.keys(), () => workerChannelLive(), clock);
  const delivery = new DeliveryService(
    messageStore,
    deliveryDomains,
    eventStore,
    suppressions,
    new DkimSigner(cipher),
    new RedisLock(redis, config.queuePrefix),
    clock,
    logger,
    config.delivery,
    () => {
      if (config.delivery.mode === 'capture') return captureTransport;
      if (config.delivery.mode === 'mx') return createMxTransport(config, recursive, clock, logger);
      return createSmarthostTransport({
        url: config.delivery.smarthostUrl,
        rejectUnauthorized: config.delivery.smarthostTlsRejectUnauthorized,
        requireTls: config.delivery.smarthostTls === 'required',
      });
    },
    (eventIds) => producer.enqueueWebhookDispatches(eventIds),
    deliverySnapshots,
    metrics,
    verp,
    (accountId) => webhookAccounts.get(accountId),
    queueHolds,
  );
  const queuedMessages = new QueuedMessageStore(mongo);
  const queueOperations = new QueueOperationsService(
    queuedMessages,
    queueHoldStore,
    delivery,
    producer,
    notifier,
    { domainExists: async (id) => (await domainStore.findById(id)) !== null, accountExists: async (id) => (await accountStore.findById(id)) !== null },
    clock,
    logger,
  );
  const messageRecovery = new MessageRecovery(messageStore, producer, sendingPolicy, config, logger);

  const webhookStore = new WebhookStore(mongo);
  await webhookStore.init();
  // The worker's answer to "does this account have any active webhook?" (fails open to the store).
  const webhookAccounts = new InvalidatedCache((accountId) => webhookStore.hasActive(accountId), () => workerChannelLive(), clock, {
    ttlMs: 30_000,
    failClosed: false,
    channel: 'webhook',
  });
  const webhooks = new WebhookService(
    webhookStore,
    eventStore,
    domainStore,
    cipher,
    producer,
    new RedisLock(redis, config.queuePrefix),
    accountQuota,
    new FixedWindowLimiter(redis, config.queuePrefix),
    clock,
    logger,
    {
      allowPrivate: config.webhooks.allowPrivate,
      retryBaseMs: config.webhooks.retryBaseMs,
      maxPerAccount: config.quotas.webhooksPerAccount,
      testLimit: { max: 5, windowMs: 60_000 },
    },
    (accountId) => notifier.webhooksChanged(accountId),
  );
  const webhookDeliveries = new WebhookDeliveryService(webhookStore, eventStore, webhooks, clock, logger, {
    allowPrivate: config.webhooks.allowPrivate,
    disableAfterFailures: config.webhooks.disableAfterFailures,
    timeoutMs: 10_000,
    maxResponseBytes: 64 * 1024,
    lookup: options.webhookLookup,
    metrics,
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
  const httpMetrics = metrics;
  const metricsPort = config.http.metricsPort;
  // METRICS_PORT equal to PORT is the default layout: /metrics stays on the API's port.
  const metricsApart = metricsPort !== undefined && !(metricsPort === config.http.port && metricsPort !== 0);
  const http = createHttpApp({
    logger,
    authenticator: accounts,
    routes: [
      accountsRoutes(accounts),
      domainsRoutes(domains),
      lifecycleRoutes(lifecycle),
      approvalRoutes(approval),
      messagesRoutes(new MessageService(messageStore)),
      smtpUsersRoutes(smtpUsers),
      allowedIpsRoutes(allowedIps),
      policyRoutes(sendingPolicy),
      webhooksRoutes(webhooks),
      suppressionsRoutes(suppressions),
      sendingLimitsRoutes(domains),
      dkimRotationRoutes(dkimRotation),
      consoleRoutes(),
      returnPathRoutes(returnPaths),
      queueOperationsRoutes(queueOperations),
    ],
    version: VERSION,
    probes,
    metrics: httpMetrics,
    serveMetrics: !metricsApart,
    requestLimiter: apiRateLimiter(new TokenBucketLimiter(redis, config.queuePrefix, clock), config.quotas),
  });

  // One certificate source for the relay and the bounce intake: a self-signed one is made once.
  let sharedTls: ReturnType<typeof tlsSource> | null = null;
  const smtpTls = () => (sharedTls ??= tlsSource({ certFile: config.smtp.tlsCertFile, keyFile: config.smtp.tlsKeyFile }, config.smtp.hostname, logger));

  /** Starts the SMTP relay role: its caches, their invalidation subscriber, and the server. */
  async function startRelay(): Promise<RunningRelayRole> {
    const subscriberRedis = redis.duplicate();
    const subscriber = new InvalidationSubscriber(subscriberRedis, logger);
    const allowlist = new AllowlistCache(
      () => domainStore.findAllowlists(),
      async (id) => (await domainStore.findById(id))?.allowedIps ?? null,
      { onIgnored: (entry) => logger.warn(entry, 'allowlist entry ignored') },
    );
    const sessions = new AuthenticatedSessions(allowlist, smtpUserStore, logger);
    const warn = (what: string) => (err: unknown) => logger.warn({ err: (err as Error).message }, what);
    const refreshAll = () => allowlist.refresh().then(() => sessions.revalidate());
    const policy = new PolicyCache((id) => sendingPolicy.forDomain(id), () => subscriber.live, clock);
    subscriber.on(policyChannel(config.queuePrefix), (id) => policy.invalidate(id), () => policy.clear());
    subscriber.on(
      allowlistChannel(config.queuePrefix),
      (id) => void allowlist.reload(id).then(() => sessions.allowlistChanged(id), warn('allowlist reload failed')),
      () => void refreshAll().catch(warn('allowlist refresh failed')),
    );
    subscriber.on(
      smtpUserRemovedChannel(config.queuePrefix),
      (_id, { username }) => username && sessions.userRemoved(username),
      () => void sessions.revalidate().catch(warn('session revalidation failed')),
    );
    const suppressed = new SuppressionCache((accountId, address) => suppressions.lookup(accountId, address), () => subscriber.live, clock);
    subscriber.on(suppressionChannel(config.queuePrefix), (accountId, m) => m.address && suppressed.invalidate(accountId, m.address), () => suppressed.clear());
    await subscriber.subscribe();
    await allowlist.refresh();
    // A safety net for a missed message; changes normally arrive over pub/sub at once.
    const refresher = setInterval(() => void refreshAll().catch(warn('allowlist refresh failed')), 5 * 60_000);
    refresher.unref();
    const relay = new RelayService(smtpUserStore, spool, producer, policy, allowlist, new FixedWindowLimiter(redis, config.queuePrefix), suppressed, sendingQuota, clock, logger, {
      maxAuthFailures: 5,
      maxUsernameFailures: 20,
      authFailureWindowMs: 15 * 60_000,
      maxRecipients: 50,
      redisDeadlineMs: 2000,
    });
    const tls = smtpTls();
    const server = await startRelayServer(
      relay,
      {
        host: config.smtp.host,
        port: config.smtp.port,
        smtpsPort: config.smtp.smtpsPort,
        trustedProxies: new TrustedProxies(config.smtp.proxyProtocolFrom),
        metrics,
        hostname: config.smtp.hostname,
        maxMessageBytes: config.smtp.maxMessageBytes,
        maxConnectionsPerIp: 50,
        maxClients: config.smtp.maxClients,
        tls,
        sessions,
      },
      logger,
    );
    return {
      port: server.port,
      smtpsPort: server.smtpsPort,
      policy,
      reloadTls: () => server.reloadTls(),
      async close() {
        clearInterval(refresher);
        await server.close();
        await subscriber.close();
      },
      forceClose() {
        clearInterval(refresher);
        subscriberRedis.disconnect();
      },
    };
  }

  /** Starts the bounce intake (role `bounce`): inbound SMTP for verified return-path subdomains on BOUNCE_SMTP_PORT. */
  async function startBounce(): Promise<RunningBounceRole> {
    const bounces = new BounceService(domainStore, messageStore, eventStore, suppressions, verp, (ids) => producer.enqueueWebhookDispatches(ids), clock, logger);
    const server = await startBounceServer(
      bounces,
      {
        host: config.smtp.host,
        port: config.returnPath.bouncePort,
        hostname: config.smtp.hostname,
        maxMessageBytes: Math.min(config.smtp.maxMessageBytes, 10 * 1024 * 1024),
        maxRecipients: 20,
        maxConnectionMs: options.bounceLimits?.maxConnectionMs ?? 5 * 60_000,
        idleTimeoutMs: options.bounceLimits?.idleTimeoutMs ?? 60_000,
        maxClients: config.smtp.maxClients,
        tls: smtpTls(),
      },
      logger,
    );
    return { port: server.port, close: () => server.close(), forceClose() {} };
  }

  /** Serves `app` on `port` of HTTP_HOST (0 picks a free port). */
  function listen(app: ReturnType<typeof createHttpApp>, port: number, what: string): Promise<RunningApi> {
    const { host } = config.http;
    return new Promise((resolve, reject) => {
      const server: Server = app.listen(port, host, () => {
        const bound = (server.address() as AddressInfo).port;
        logger.info({ port: bound, host }, `${what} listening`);
        resolve({
          port: bound,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              server.closeIdleConnections();
            }),
          forceClose: () => server.closeAllConnections(),
        });
      });
      server.once('error', reject);
    });
  }

  /** Starts the HTTP API on PORT (0 picks a free port). */
  const startApi = () => listen(http, config.http.port, 'http api');

  const workerDeps = { config, logger, lifecycle, producer, delivery, messageRecovery, webhooks, webhookDeliveries, dkimRotation, queueRebuild: new QueueRebuild(queuedMessages, producer, logger) };

  /**
   * Starts the worker role: the queue processors, and a subscriber that releases a
   * domain's held messages as soon as its sending decision changes to allowed.
   */
  async function startWorkerRole(options: StartOptions): Promise<RunningWorkerRole> {
    const workers = await startWorkers(workerDeps, options.workers);
    const subscriberRedis = redis.duplicate();
    const subscriber = new InvalidationSubscriber(subscriberRedis, logger);
    subscriber.on(
      policyChannel(config.queuePrefix),
      (id) => {
        // Drop the cached decision first: the released jobs must see the new one.
        deliveryDomains.invalidate(id);
        void messageRecovery.releaseHeld(id).catch((err) => logger.warn({ domainId: id, err: (err as Error).message }, 'releasing held messages failed'));
      },
      // Changes missed while disconnected: held messages still go out on their backoff
      // schedule, and the delivery cache starts over (it reads directly while the channel is down).
      () => deliveryDomains.clear(),
    );
    subscriber.on(webhookChannel(config.queuePrefix), (accountId) => webhookAccounts.invalidate(accountId), () => webhookAccounts.clear());
    subscriber.on(queueHoldChannel(config.queuePrefix), () => queueHolds.invalidate(), () => queueHolds.invalidate());
    workerChannelLive = () => subscriber.live;
    try {
      await subscriber.subscribe();
    } catch (err) {
      subscriberRedis.disconnect();
      await workers.close();
      throw err;
    }
    return {
      async close() {
        await subscriber.close();
        await workers.close();
      },
      forceClose() {
        subscriberRedis.disconnect();
        workers.forceClose();
      },
    };
  }

  /**
   * THE one way to start a role (DESIGN §1): main.ts, the benchmarks and the tests all
   * come through here. `all` starts api, worker and relay in this process. On close()
   * the listeners stop accepting first, then the workers drain. With METRICS_PORT set,
   * the role also serves /metrics there (`metricsPort`).
   */
  async function start(role: 'api', options?: StartOptions): Promise<RunningApi>;
  async function start(role: 'worker', options?: StartOptions): Promise<RunningWorkerRole>;
  async function start(role: 'relay', options?: StartOptions): Promise<RunningRelayRole>;
  async function start(role: 'bounce', options?: StartOptions): Promise<RunningBounceRole>;
  async function start(role: Role, options?: StartOptions): Promise<RunningRoles>;
  async function start(role: Role, options: StartOptions = {}): Promise<RoleHandle> {
    // METRICS_PORT: the worker and relay roles have no HTTP port of their own to share.
    const metrics = metricsPort !== undefined && (metricsApart || role === 'worker' || role === 'relay' || role === 'bounce')
      ? await listen(createMetricsApp(httpMetrics), metricsPort, 'metrics')
      : null;
    let running: RoleHandle;
    try {
      running = await startRole(role, options);
    } catch (err) {
      await metrics?.close();
      throw err;
    }
    if (!metrics) return running;
    const { close, forceClose } = running;
    return Object.assign(running, {
      metricsPort: metrics.port,
      close: async () => {
        await close.call(running);
        await metrics.close();
      },
      forceClose: () => {
        forceClose.call(running);
        metrics.forceClose();
      },
    });
  }

  async function startRole(role: Role, options: StartOptions): Promise<RoleHandle> {
    if (role === 'api') return startApi();
    if (role === 'worker') return startWorkerRole(options);
    if (role === 'relay') return startRelay();
    if (role === 'bounce') return startBounce();
    const started: RoleHandle[] = [];
    try {
      const api = await startApi();
      started.push(api);
      const workers = await startWorkerRole(options);
      started.push(workers);
      const relay = await startRelay();
      started.push(relay);
      const bounce = await startBounce();
      started.push(bounce);
      const roles: RunningRoles = {
        api,
        workers,
        relay,
        bounce,
        // closeAll goes last first: the listeners stop accepting, then the workers drain.
        close: () => closeAll([workers, api, relay, bounce]),
        forceClose: () => started.forEach((s) => s.forceClose()),
      };
      return roles;
    } catch (err) {
      await closeAll(started);
      throw err;
    }
  }

  let closed = false;
  return {
    config,
    logger,
    clock,
    mongo,
    redis,
    cipher,
    stores: { accounts: accountStore, domains: domainStore, smtpUsers: smtpUserStore },
    services: { accounts, domains, approval, smtpUsers, allowedIps, suppressions, returnPaths },
    verp,
    dns: { client: dnsClient, verifier },
    lifecycle,
    dkimRotation,
    queues,
    delivery,
    messageRecovery,
    messages: messageStore,
    spool,
    events: eventStore,
    checks: checkStore,
    http,
    metrics,
    start,
    webhooks,
    webhookDeliveries,
    webhookStore,
    /**
     * Drops every store connection at once, whatever close() was waiting for (the
     * shutdown deadline passed). Returns what was still open, for the log.
     */
    forceClose(): string[] {
      closed = true;
      dnsClient.close();
      delivery.close();
      const open: string[] = [];
      if (redis.status !== 'end') open.push('redis');
      if (queueConnection.status !== 'end') open.push('redis (queues)');
      if (mongo.readyState !== 0) open.push('mongodb');
      redis.disconnect();
      queueConnection.disconnect();
      void mongo.close(true).catch(() => {});
      return open;
    },
    /** Closes every connection the container opened. Safe to call twice. */
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      dnsClient.close();
      delivery.close();
      await queues.close();
      await queueConnection.quit().catch(() => queueConnection.disconnect());
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
      await mongo.close();
    },
  };
}

/** The per-API-key budget of /v1: API_RATE_PER_SECOND, bursts of API_RATE_BURST. */
function apiRateLimiter(bucket: TokenBucketLimiter, q: Config['quotas']): RequestLimiter {
  return {
    description: `${q.apiRatePerSecond} requests a second, bursts of ${q.apiBurst}`,
    take: (callerKey) => bucket.take(`api:${callerKey}`, q.apiRatePerSecond, q.apiBurst),
  };
}

/** Stops what was started, last first. */
async function closeAll(started: Array<{ close(): Promise<void> }>): Promise<void> {
  for (const s of [...started].reverse()) await s.close();
}

export type Container = Awaited<ReturnType<typeof createContainer>>;
