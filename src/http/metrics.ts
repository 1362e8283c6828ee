import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every Prometheus metric of mailwarden (README "Metrics"), in one registry per container:
 * one per process in production, where a process runs one container; several in the tests,
 * which never collide. Services receive the instruments they move; the gauges over shared
 * state (domains by status, queue depth) are read on scrape through the sources below.
 */

export interface HttpMetrics {
  registry: Registry;
  middleware: RequestHandler;
}

/** Counts read from the stores when Prometheus scrapes (cached briefly, so a scrape storm costs one read). */
export interface MetricSources {
  /** Domains per status (pending, verified, failed, suspended). */
  domainsByStatus?: () => Promise<Record<string, number>>;
  /** Per queue: jobs per state, and the age of the oldest waiting job (null when none waits). */
  queueStats?: () => Promise<QueueStat[]>;
}

export interface QueueStat {
  queue: string;
  counts: Record<string, number>;
  oldestWaitingAgeMs: number | null;
}

export interface MetricsOptions extends MetricSources {
  /** Process-wide default metrics (off in tests, where many containers share a process). */
  defaults?: boolean;
  /** How long a scrape-time read is reused (15 s). */
  sourceCacheMs?: number;
}

/** What the check path moves (LifecycleService). */
export interface CheckMetrics {
  checks: Counter<'verdict'>;
  checkDuration: Histogram<'verdict'>;
}
/** What the DNS client moves, per query. */
export interface DnsMetrics {
  dnsQueries: Counter<'outcome'>;
}
/** What the SMTP relay moves. */
export interface RelayMetrics {
  relaySessions: Counter<'listener'>;
  relayReplies: Counter<'code'>;
  messages: Counter<'status'>;
}
/** What the delivery engine moves. */
export interface DeliveryMetrics {
  messages: Counter<'status'>;
  recipients: Counter<'outcome'>;
  deliveryLatency: Histogram;
}
export interface WebhookMetrics {
  webhookDeliveries: Counter<'outcome'>;
}
export interface SuppressionMetrics {
  suppressions: Counter<'reason'>;
}

export type Metrics = HttpMetrics & CheckMetrics & DnsMetrics & RelayMetrics & DeliveryMetrics & WebhookMetrics & SuppressionMetrics;

/** Reuses one in-flight or recent read for `ttlMs`; a failed read is not cached. */
function cached<T>(read: () => Promise<T>, ttlMs: number): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | null = null;
  return () => {
    const now = Date.now();
    if (last && now - last.at < ttlMs) return last.value;
    const value = read();
    last = { at: now, value };
    value.catch(() => {
      last = null;
    });
    return value;
  };
}

/** The registry and every instrument. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.defaults) collectDefaultMetrics({ register: registry, prefix: 'mailwarden_' });
  const ttl = options.sourceCacheMs ?? 15_000;

  const requests = new Counter({
    name: 'mailwarden_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'mailwarden_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers,
  });
  const middleware: RequestHandler = (req, res, next) => {
    const end = duration.startTimer();
    res.on('finish', () => {
      // The matched route pattern, never the raw path: ids would explode the label set.
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      requests.inc({ method: req.method, route, status: String(res.statusCode) });
      end({ method: req.method, route });
    });
    next();
  };

  const domainsByStatus = options.domainsByStatus && cached(options.domainsByStatus, ttl);
  new Gauge({
    name: 'mailwarden_domains',
    help: 'Domains by verification status (read from the store on scrape; the same in every process)',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      if (!domainsByStatus) return;
      this.reset();
      for (const [status, n] of Object.entries(await domainsByStatus())) this.set({ status }, n);
    },
  });

  const queueStats = options.queueStats && cached(options.queueStats, Math.min(ttl, 5_000));
  new Gauge({
    name: 'mailwarden_queue_jobs',
    help: 'Jobs per queue and state (read from Redis on scrape; the same in every process)',
    labelNames: ['queue', 'state'] as const,
    registers,
    async collect() {
      if (!queueStats) return;
      const stats = await queueStats();
      this.reset();
      for (const s of stats) for (const [state, n] of Object.entries(s.counts)) this.set({ queue: s.queue, state }, n);
    },
  });
  new Gauge({
    name: 'mailwarden_queue_oldest_waiting_age_seconds',
    help: 'Age of the oldest job waiting in each queue, 0 when none waits (read on scrape)',
    labelNames: ['queue'] as const,
    registers,
    async collect() {
      if (!queueStats) return;
      const stats = await queueStats();
      this.reset();
      for (const s of stats) this.set({ queue: s.queue }, (s.oldestWaitingAgeMs ?? 0) / 1000);
    },
  });

  /** A counter with one label, in this process's registry. */
  const counter = <L extends string>(name: string, help: string, label: L) => new Counter<L>({ name, help, labelNames: [label], registers });

  return {
    registry,
    middleware,
    checks: counter('mailwarden_checks_total', 'DNS checks of domains by verdict', 'verdict'),
    checkDuration: new Histogram({
      name: 'mailwarden_check_duration_seconds',
      help: 'How long one DNS check of a domain took (all nameservers, all records)',
      labelNames: ['verdict'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    dnsQueries: counter('mailwarden_dns_queries_total', 'DNS queries by outcome (answer, nodata, nxdomain, servfail, refused, timeout, lame, network-error)', 'outcome'),
    relaySessions: counter('mailwarden_relay_sessions_total', 'SMTP relay sessions by listener (smtp: STARTTLS port, smtps: implicit TLS)', 'listener'),
    relayReplies: counter('mailwarden_relay_replies_total', 'SMTP relay replies by code', 'code'),
    messages: counter('mailwarden_messages_total', 'Messages entering each status (queued when accepted, then as delivery moves them)', 'status'),
    recipients: counter('mailwarden_recipients_total', 'Recipient outcomes of delivery attempts (delivered, deferred, bounced, held, failed, suppressed)', 'outcome'),
    deliveryLatency: new Histogram({
      name: 'mailwarden_delivery_latency_seconds',
      help: 'From acceptance by the relay to delivery, per delivered recipient',
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600],
      registers,
    }),
    webhookDeliveries: counter('mailwarden_webhook_deliveries_total', 'Webhook delivery attempts by outcome (delivered, retrying, failed, disabled)', 'outcome'),
    suppressions: counter('mailwarden_suppressions_added_total', 'Addresses added to suppression lists, by reason', 'reason'),
  };
}
