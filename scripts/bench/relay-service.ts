/**
 * bench:relay's service under test: `node dist/src/main.js all` in production mode in a
 * process of its own, and the operator's set-up through its HTTP API (account, domain,
 * DNS records, verification, allowed IPs, SMTP user), as a real deployment would be.
 */
import { join } from 'node:path';
import type { SmtpReply } from '../../test/support/smtp-client';
import { SmtpTestClient } from '../../test/support/smtp-client';
import { startChild, type Child, type Cleanup } from './children';
import { REPO } from './load-run';

export type DeliveryMode = 'mx' | 'smarthost';

export interface ServiceWorld {
  mongoUri: string;
  redisUrl: string;
  masterKey: string;
  adminKey: string;
  certFile: string;
  keyFile: string;
  dataDir: string;
  queuePrefix: string;
  dns: { resolverPort: number; authPort: number };
  spfInclude: string;
  sinkPort: number;
  httpPort: number;
  smtpPort: number;
}

/** The explicit environment of the service: nothing is inherited but PATH and HOME. */
/** BENCH_SERVICE_NODE_ARGS: node options for the service process only (a CPU profile, the command counter). */
function serviceNodeArgs(): string[] {
  return (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
}

export function serviceEnv(w: ServiceWorld, mode: DeliveryMode): Record<string, string> {
  const delivery: Record<string, string> =
    mode === 'mx'
      ? { DELIVERY_MODE: 'mx', MX_PORT: String(w.sinkPort) }
      : {
          DELIVERY_MODE: 'smarthost',
          SMARTHOST_URL: `smtp://127.0.0.1:${w.sinkPort}`,
          SMARTHOST_TLS: 'optional',
          SMARTHOST_TLS_REJECT_UNAUTHORIZED: 'false',
        };
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'production',
    ...(process.env.MONGO_COMMANDS_OUT ? { MONGO_COMMANDS_OUT: process.env.MONGO_COMMANDS_OUT } : {}),
    HOST: '127.0.0.1',
    PORT: String(w.httpPort),
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(w.smtpPort),
    // `all` includes the bounce intake and the implicit-TLS listener; the benchmark uses neither
    // (and the policy measurement starts a second relay in its own process, which would find
    // 465 taken).
    BOUNCE_SMTP_PORT: '0',
    SMTPS_PORT: '0',
    RELAY_HOSTNAME: 'relay.mailwarden.bench',
    MONGODB_URI: w.mongoUri,
    REDIS_URL: w.redisUrl,
    QUEUE_PREFIX: w.queuePrefix,
    MASTER_KEY: w.masterKey,
    ADMIN_API_KEY: w.adminKey,
    TLS_CERT_FILE: w.certFile,
    TLS_KEY_FILE: w.keyFile,
    DATA_DIR: w.dataDir,
    APPROVAL_MODE: 'auto',
    // Sending limits high enough never to refuse the load: the benchmark measures the pipeline.
    DEFAULT_RATE_PER_SECOND: '1000000',
    DEFAULT_DAILY_QUOTA: '1000000000',
    DNS_RESOLVERS: `127.0.0.1:${w.dns.resolverPort}`,
    DNS_AUTH_PORT: String(w.dns.authPort),
    DNS_TIMEOUT_MS: '1000',
    DNS_ALLOW_PRIVATE: 'true',
    SPF_INCLUDE_DOMAIN: w.spfInclude,
    // Verified within seconds, then left alone during the load.
    PROPAGATION_SCHEDULE: '250ms',
    SWEEP_INTERVAL_MS: '500',
    CONFIRM_DELAY_MS: '250',
    RECHECK_INTERVAL_MS: String(3600_000),
    // A deferral is retried in a second, not a minute, so that one cannot stall the run.
    DELIVERY_RETRY_BASE_MS: '1000',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'warn',
    ...delivery,
  };
}

/** Fetches `path` from the service's API; throws on a status other than `expect`. */
export async function api<T = Record<string, unknown>>(
  port: number,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  expect: number[] = [200, 201, 202, 204],
): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed = text ? (JSON.parse(text) as T) : ({} as T);
  if (!expect.includes(res.status)) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return { status: res.status, body: parsed };
}

/**
 * Starts the service in `mode`. Resolves null when the service refuses the mode in its
 * configuration (DELIVERY_MODE named in the error), so the caller can fall back.
 */
export async function startService(w: ServiceWorld, mode: DeliveryMode, cleanup: Cleanup): Promise<Child | null> {
  try {
    return await startChild(
      `service ${mode}`,
      { spawn: process.execPath, args: [...serviceNodeArgs(), join(REPO, 'dist', 'src', 'main.js'), 'all'], options: { env: serviceEnv(w, mode), cwd: REPO } },
      cleanup,
      {
        timeoutMs: 90_000,
        logStdout: true,
        readyWhen: async () => {
          const res = await fetch(`http://127.0.0.1:${w.httpPort}/readyz`);
          return res.status === 200 ? { port: w.httpPort } : null;
        },
      },
    );
  } catch (err) {
    if (/DELIVERY_MODE/.test((err as Error).message)) return null;
    throw err;
  }
}

export interface Sender {
  apiKey: string;
  domainId: string;
  username: string;
  password: string;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v !== null) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The operator's path, through the API only: account, domain, its records published in
 * the DNS world, verified and approved, 127.0.0.0/8 allowed, one SMTP user; then waits
 * until the relay greets 127.0.0.1 with 220.
 */
export async function setUpSender(
  w: ServiceWorld,
  domain: string,
  publish: (name: string, type: 'TXT', data: unknown[]) => Promise<void>,
): Promise<Sender> {
  const port = w.httpPort;
  const account = await api<{ apiKey: string }>(port, w.adminKey, 'POST', '/v1/accounts', { name: 'bench' });
  const key = account.body.apiKey;
  const created = await api<{ id: string; records: Array<{ name: string; strings: string[] }> }>(port, key, 'POST', '/v1/domains', { domain });
  for (const r of created.body.records) await publish(r.name, 'TXT', [r.strings]);
  const id = created.body.id;
  await until('the domain to be verified and approved', 120_000, async () => {
    const d = await api<{ status: string; approval: string; sending: { allowed: boolean } }>(port, key, 'GET', `/v1/domains/${id}`);
    return d.body.sending?.allowed ? d.body : null;
  });
  await api(port, key, 'PUT', `/v1/domains/${id}/allowed-ips`, { cidrs: ['127.0.0.0/8'] });
  const user = await api<{ username: string; password: string }>(port, key, 'POST', `/v1/domains/${id}/smtp-users`, {});
  await until('the relay to greet 127.0.0.1', 30_000, async () => {
    const { client, greeting } = await SmtpTestClient.connect(w.smtpPort);
    await client.quit();
    return greeting.code === 220 ? greeting : null;
  });
  return { apiKey: key, domainId: id, username: user.body.username, password: user.body.password };
}

/** One message over the bench's own STARTTLS+AUTH session; returns its queueId. */
export async function sendMarker(w: ServiceWorld, sender: Sender, from: string, to: string): Promise<string> {
  const { client } = await SmtpTestClient.connect(w.smtpPort);
  try {
    const auth: SmtpReply = await client.login(sender.username, sender.password);
    if (auth.code !== 235) throw new Error(`AUTH answered ${auth.raw}`);
    const reply = await client.send(from, [to], `From: <${from}>\r\nTo: <${to}>\r\nSubject: bench marker\r\n\r\nthe last message of the run\r\n`);
    if (reply.code !== 250) throw new Error(`the marker was refused: ${reply.raw}`);
    return reply.text.split(' ').pop()!;
  } finally {
    await client.quit();
  }
}
