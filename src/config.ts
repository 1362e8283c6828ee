import { readFileSync } from 'node:fs';
import { hkdfSync } from 'node:crypto';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { parseDurationList } from './duration';

/**
 * The only module that reads the environment. Every variable of DESIGN §7 is
 * validated here once; every problem is reported together (ConfigError).
 */

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface ResolverAddress {
  host: string;
  port: number;
}

const unset = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const integer = (min = 0) =>
  z.preprocess(
    unset,
    z
      .string()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(min).max(Number.MAX_SAFE_INTEGER)),
  );

const port = () =>
  z.preprocess(
    unset,
    z
      .string()
      .regex(/^\d+$/, 'must be a port number')
      .transform(Number)
      .pipe(z.number().int().min(0).max(65535)),
  );

const bool = () =>
  z.preprocess(
    unset,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  );

const text = () => z.preprocess(unset, z.string().trim().min(1));

const hostnameRe = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?)+$/i;

const masterKey = text().refine((v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32, {
  message: 'must be 32 bytes encoded as base64 (openssl rand -base64 32)',
});

function parseResolver(raw: string): ResolverAddress | null {
  const s = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracketed) {
    return isIP(bracketed[1]) === 6 ? { host: bracketed[1], port: Number(bracketed[2] ?? 53) } : null;
  }
  if (isIP(s)) return { host: s, port: 53 };
  const v4port = /^([^:]+):(\d+)$/.exec(s);
  if (v4port && isIP(v4port[1]) === 4 && Number(v4port[2]) <= 65535) return { host: v4port[1], port: Number(v4port[2]) };
  return null;
}

const resolverList = z.string().transform((v, ctx) => {
  const out: ResolverAddress[] = [];
  for (const item of v.split(',').filter((x) => x.trim() !== '')) {
    const r = parseResolver(item);
    if (!r) ctx.addIssue({ code: 'custom', message: `"${item.trim()}" is not ip[:port] or [ipv6]:port` });
    else out.push(r);
  }
  if (out.length === 0) ctx.addIssue({ code: 'custom', message: 'no resolver given' });
  return out;
});

const ipList = z.preprocess(
  (v) => (v === undefined ? '' : v),
  z.string().transform((v, ctx) => {
    const ips = v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    for (const ip of ips) if (!isIP(ip)) ctx.addIssue({ code: 'custom', message: `"${ip}" is not an IP address` });
    return ips;
  }),
);

/** CIDRs (or single addresses), comma-separated: the peers trusted to send a PROXY header. */
const cidrList = z.preprocess(
  (v) => (v === undefined ? '' : v),
  z.string().transform((v, ctx) => {
    const cidrs = v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    for (const c of cidrs) {
      const ok = c.includes('/') ? ipaddr.isValidCIDR(c) : isIP(c) !== 0;
      if (!ok) ctx.addIssue({ code: 'custom', message: `"${c}" is not a CIDR or an IP address` });
    }
    return cidrs;
  }),
);

const durationList = z.string().transform((v, ctx) => {
  try {
    return parseDurationList(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/**
 * `smarthostSet`: SMARTHOST_URL was given, which makes `smarthost` the production default
 * for DELIVERY_MODE; without it production delivers directly (`mx`, DESIGN §2 step 6).
 */
function buildSchema(production: boolean, defaultResolvers: () => string, smarthostSet = false) {
  return z
    .object({
      NODE_ENV: z.preprocess(unset, z.string().default('development')),
      PORT: port().default(8080),
      METRICS_PORT: port().optional(),
      HOST: text().default('0.0.0.0'),
      SMTP_PORT: port().default(production ? 587 : 2587),
      SMTP_HOST: text().default('0.0.0.0'),
      SMTPS_PORT: port().default(production ? 465 : 2465),
      SMTP_PROXY_PROTOCOL_FROM: cidrList,
      BOUNCE_SMTP_PORT: port().default(production ? 25 : 2525),
      RETURN_PATH_MX_HOST: text().optional().refine((v) => v === undefined || hostnameRe.test(v), 'must be a host name'),
      VERP_SECRET: text().optional().refine((v) => v === undefined || v.length >= 32, 'must be at least 32 characters (openssl rand -base64 32)'),
      MONGODB_URI: text().refine((v) => /^mongodb(\+srv)?:\/\//.test(v), 'must be a mongodb:// URI'),
      REDIS_URL: text().refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL'),
      MASTER_KEY: masterKey,
      ADMIN_API_KEY: text().refine((v) => v.length >= 24, 'must be at least 24 characters'),
      DNS_RESOLVERS: z.preprocess((v) => unset(v) ?? defaultResolvers(), resolverList),
      DNS_AUTH_PORT: port().default(53),
      DNS_TIMEOUT_MS: integer(1).default(2000),
      DNS_ALLOW_PRIVATE: bool().default(false),
      OUTBOUND_IPS: ipList,
      SPF_INCLUDE_DOMAIN: text()
        .default('_spf.mailwarden.local')
        .refine((v) => hostnameRe.test(v), 'must be a domain name'),
      PROPAGATION_WINDOW_MS: integer(1).default(72 * 3600_000),
      PROPAGATION_SCHEDULE: z.preprocess((v) => unset(v) ?? '1m,2m,5m,10m,15m,30m', durationList),
      RECHECK_INTERVAL_MS: integer(1).default(3600_000),
      CONFIRM_DELAY_MS: integer(0).default(10 * 60_000),
      DEGRADED_AFTER_MS: integer(0).default(6 * 3600_000),
      SWEEP_INTERVAL_MS: integer(100).default(15_000),
      SWEEP_BATCH_SIZE: integer(1).default(1000),
      CHECK_RETENTION_MS: integer(1).default(30 * 24 * 3600_000),
      CHECK_HISTORY_PER_DOMAIN: integer(1).default(500),
      DKIM_RETIRE_AFTER_MS: integer(0).default(7 * 24 * 3600_000),
      DKIM_AUTO_ROTATE_AFTER_MS: integer(1).optional(),
      APPROVAL_MODE: z.preprocess(unset, z.enum(['manual', 'auto']).default('manual')),
      DELIVERY_MODE: z.preprocess(unset, z.enum(['smarthost', 'capture', 'mx']).default(production ? (smarthostSet ? 'smarthost' : 'mx') : 'capture')),
      SMARTHOST_URL: text()
        .default('smtp://127.0.0.1:25')
        .refine((v) => /^smtps?:\/\/[^/]+/.test(v), 'must be an smtp:// or smtps:// URL'),
      SMARTHOST_TLS: z.preprocess(unset, z.enum(['required', 'optional']).default('required')),
      SMARTHOST_TLS_REJECT_UNAUTHORIZED: bool().default(true),
      DELIVERY_RETRY_BASE_MS: integer(1).default(60_000),
      DELIVERY_MAX_AGE_MS: integer(1).default(5 * 24 * 3600_000),
      DELIVERY_CONCURRENCY: integer(1).default(25),
      MX_PORT: port().default(25),
      MX_MAX_CONNECTIONS_PER_DOMAIN: integer(1).default(5),
      MX_DESTINATION_BACKOFF_MS: integer(0).default(60_000),
      MTA_STS_PORT: port().default(443),
      MTA_STS_CA_FILE: text().optional(),
      TLS_CERT_FILE: text().optional(),
      TLS_KEY_FILE: text().optional(),
      SMTP_MAX_MESSAGE_BYTES: integer(1024).default(10 * 1024 * 1024),
      SMTP_MAX_CLIENTS: integer(1).default(1000),
      WEBHOOK_ALLOW_PRIVATE: bool().default(false),
      WEBHOOK_RETRY_BASE_MS: integer(1).default(5000),
      WEBHOOK_DISABLE_AFTER_FAILURES: integer(1).default(5),
      MAX_DOMAINS_PER_ACCOUNT: integer(1).default(1000),
      MAX_WEBHOOKS_PER_ACCOUNT: integer(1).default(25),
      API_RATE_PER_SECOND: integer(1).default(20),
      API_RATE_BURST: integer(1).default(50),
      // SES's starting production quota: 14 recipients a second, 50,000 a day, per domain.
      DEFAULT_RATE_PER_SECOND: integer(1).default(14),
      DEFAULT_DAILY_QUOTA: integer(1).default(50_000),
      LOG_LEVEL: z.preprocess(unset, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
      QUEUE_PREFIX: text().default('{mw}'),
      RELAY_HOSTNAME: text().default(hostname()),
      DATA_DIR: text().default('./data'),
      SHUTDOWN_GRACE_MS: integer(0).default(10_000),
    });
}

/** Rules that span variables; checked on the raw environment so they are reported with the rest. */
function crossFieldProblems(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const certFile = Boolean(unset(env.TLS_CERT_FILE));
  const keyFile = Boolean(unset(env.TLS_KEY_FILE));
  if (certFile !== keyFile) {
    problems.push(`${certFile ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE'}: TLS_CERT_FILE and TLS_KEY_FILE go together`);
  } else if (!certFile && env.NODE_ENV === 'production') {
    // Production never generates anything (DESIGN §7): a self-signed relay certificate included.
    for (const name of ['TLS_CERT_FILE', 'TLS_KEY_FILE']) problems.push(`${name}: is required when NODE_ENV=production (no self-signed certificate in production)`);
  }
  return problems;
}

function resolvConfNameservers(read: (p: string) => string): string {
  try {
    return read('/etc/resolv.conf')
      .split('\n')
      .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
      .filter((x): x is string => Boolean(x) && isIP(x!.split('%')[0]) !== 0)
      .map((ip) => (isIP(ip) === 6 ? `[${ip}]` : ip))
      .join(',');
  } catch {
    return '';
  }
}

export type Config = ReturnType<typeof toConfig>;

function toConfig(e: z.infer<ReturnType<typeof buildSchema>>) {
  return {
    env: e.NODE_ENV,
    production: e.NODE_ENV === 'production',
    http: { port: e.PORT, host: e.HOST, metricsPort: e.METRICS_PORT },
    smtp: {
      port: e.SMTP_PORT,
      /** Implicit TLS (SMTPS_PORT, 465): the same relay, TLS from the first byte. */
      smtpsPort: e.SMTPS_PORT,
      host: e.SMTP_HOST,
      /** Load balancers whose PROXY header (v1 or v2) gives the client's address. */
      proxyProtocolFrom: e.SMTP_PROXY_PROTOCOL_FROM,
      hostname: e.RELAY_HOSTNAME,
      maxMessageBytes: e.SMTP_MAX_MESSAGE_BYTES,
      maxClients: e.SMTP_MAX_CLIENTS,
      tlsCertFile: e.TLS_CERT_FILE,
      tlsKeyFile: e.TLS_KEY_FILE,
    },
    /** Return paths (custom MAIL FROM) and the bounce intake (the `bounce` role). */
    returnPath: {
      /** What return-path subdomains point their MX at; default RELAY_HOSTNAME. */
      mxHost: (e.RETURN_PATH_MX_HOST ?? e.RELAY_HOSTNAME).toLowerCase().replace(/\.$/, ''),
      /** The bounce intake's port (BOUNCE_SMTP_PORT); it binds SMTP_HOST. */
      bouncePort: e.BOUNCE_SMTP_PORT,
      /**
       * The HMAC key that signs VERP tokens: VERP_SECRET when given, otherwise derived from
       * MASTER_KEY (HKDF-SHA256), which production requires anyway.
       */
      verpSecret: e.VERP_SECRET
        ? Buffer.from(e.VERP_SECRET, 'utf8')
        : Buffer.from(hkdfSync('sha256', Buffer.from(e.MASTER_KEY, 'base64'), Buffer.alloc(0), 'mailwarden verp', 32)),
    },
    mongodbUri: e.MONGODB_URI,
    redisUrl: e.REDIS_URL,
    masterKey: Buffer.from(e.MASTER_KEY, 'base64'),
    adminApiKey: e.ADMIN_API_KEY,
    dns: { resolvers: e.DNS_RESOLVERS, authPort: e.DNS_AUTH_PORT, timeoutMs: e.DNS_TIMEOUT_MS, allowPrivate: e.DNS_ALLOW_PRIVATE },
    spf: { outboundIps: e.OUTBOUND_IPS, includeDomain: e.SPF_INCLUDE_DOMAIN.toLowerCase() },
    verification: {
      propagationWindowMs: e.PROPAGATION_WINDOW_MS,
      propagationScheduleMs: e.PROPAGATION_SCHEDULE,
      recheckIntervalMs: e.RECHECK_INTERVAL_MS,
      confirmDelayMs: e.CONFIRM_DELAY_MS,
      degradedAfterMs: e.DEGRADED_AFTER_MS,
      sweepIntervalMs: e.SWEEP_INTERVAL_MS,
      sweepBatchSize: e.SWEEP_BATCH_SIZE,
      checkRetentionMs: e.CHECK_RETENTION_MS,
      checkHistoryPerDomain: e.CHECK_HISTORY_PER_DOMAIN,
      approvalMode: e.APPROVAL_MODE,
    },
    dkim: {
      retireAfterMs: e.DKIM_RETIRE_AFTER_MS,
      /** Age of the active key after which the sweep starts a rotation; null (the default): never. */
      autoRotateAfterMs: e.DKIM_AUTO_ROTATE_AFTER_MS ?? null,
    },
    delivery: {
      mode: e.DELIVERY_MODE,
      smarthostUrl: e.SMARTHOST_URL,
      /** For smtp:// smarthosts: `required` refuses to send without STARTTLS. */
      smarthostTls: e.SMARTHOST_TLS,
      smarthostTlsRejectUnauthorized: e.SMARTHOST_TLS_REJECT_UNAUTHORIZED,
      retryBaseMs: e.DELIVERY_RETRY_BASE_MS,
      /** A recipient still deferred or held when its message is this old bounces as `expired` (Postfix's maximal_queue_lifetime). */
      maxAgeMs: e.DELIVERY_MAX_AGE_MS,
      /** Delivery jobs one worker process runs at once: attempts mostly wait on the network and the database. */
      concurrency: e.DELIVERY_CONCURRENCY,
      mx: {
        /** Port of the recipient domains' MX hosts (25; tests use a high port on 127.0.0.x). */
        port: e.MX_PORT,
        /** Connections open at once to one destination (one set of MX hosts). */
        maxConnectionsPerDomain: e.MX_MAX_CONNECTIONS_PER_DOMAIN,
        /** A destination's rest after a session-level temporary failure, doubling per failure (0: off). */
        destinationBackoffMs: e.MX_DESTINATION_BACKOFF_MS,
        /** HTTPS port of the mta-sts.<domain> policy host (443; tests serve the policy elsewhere). */
        mtaStsPort: e.MTA_STS_PORT,
        /** PEM file of CAs trusted besides the system's, for MTA-STS policy hosts and MX certificates. */
        mtaStsCaFile: e.MTA_STS_CA_FILE,
      },
    },
    webhooks: { allowPrivate: e.WEBHOOK_ALLOW_PRIVATE, retryBaseMs: e.WEBHOOK_RETRY_BASE_MS, disableAfterFailures: e.WEBHOOK_DISABLE_AFTER_FAILURES },
    quotas: {
      domainsPerAccount: e.MAX_DOMAINS_PER_ACCOUNT,
      webhooksPerAccount: e.MAX_WEBHOOKS_PER_ACCOUNT,
      apiRatePerSecond: e.API_RATE_PER_SECOND,
      apiBurst: e.API_RATE_BURST,
    },
    /** A domain's sending limits unless an admin set its own (PUT /v1/admin/domains/:id/limits). */
    sendingLimits: { rateLimitPerSecond: e.DEFAULT_RATE_PER_SECOND, dailyQuota: e.DEFAULT_DAILY_QUOTA },
    logLevel: e.LOG_LEVEL,
    queuePrefix: e.QUEUE_PREFIX,
    dataDir: e.DATA_DIR,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
  };
}

/** Every variable name the schema knows, for docs and tests. */
export const CONFIG_VARIABLES = Object.keys(buildSchema(false, () => '').shape);

/**
 * Validates `env` (default: process.env) and returns the typed configuration.
 * Throws ConfigError naming every invalid variable at once.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): Config {
  // An empty variable is an unset one (compose writes `${X:-}` as ""), defaults included.
  env = Object.fromEntries(Object.entries(env).filter(([, v]) => unset(v) !== undefined));
  const production = env.NODE_ENV === 'production';
  const parsed = buildSchema(production, () => resolvConfNameservers(read), Boolean(unset(env.SMARTHOST_URL))).safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => {
        const name = String(i.path[0] ?? 'environment');
        const message = i.code === 'invalid_type' && i.input === undefined ? 'is required' : i.message;
        return `${name}: ${message}`;
      });
  problems.push(...crossFieldProblems(env));
  if (!parsed.success || problems.length) throw new ConfigError([...new Set(problems)]);
  return toConfig(parsed.data);
}
