#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadConfig, type Config } from '../src/config';

/**
 * The image's HEALTHCHECK: `node dist/scripts/healthcheck.js [role]`. Without a role it
 * reads the role from the command line of PID 1 (the image's entrypoint runs
 * `node dist/src/main.js <role>` as PID 1), so one HEALTHCHECK fits every service.
 *
 * - api, all: GET /healthz on PORT answers 200 (liveness; readiness is /readyz);
 * - worker: GET /metrics on METRICS_PORT answers 200 (the worker has no other port);
 * - relay: the relay answers a TCP connection on SMTP_PORT with an SMTP greeting;
 * - bounce: the same on BOUNCE_SMTP_PORT.
 * Exits 0 when healthy, 1 with the reason on stderr otherwise.
 */

export const HEALTH_ROLES = ['api', 'worker', 'relay', 'bounce', 'all'] as const;
export type HealthRole = (typeof HEALTH_ROLES)[number];

const TIMEOUT_MS = 4000;

/** The role PID 1 runs (its last argument), or null when it cannot be read. */
export function roleOfProcess(cmdline: string): HealthRole | null {
  const args = cmdline.split('\0').filter(Boolean);
  const last = args[args.length - 1];
  if (args.some((a) => /main\.js$/.test(a))) return (HEALTH_ROLES as readonly string[]).includes(last) ? (last as HealthRole) : 'all';
  return null;
}

async function httpOk(port: number, path: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (res.status !== 200) throw new Error(`GET ${path} on port ${port} answered ${res.status}`);
}

/** Connects and waits for a complete greeting line (220, or 554 for an address no allowlist has: alive all the same). */
function smtpGreets(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let buffer = '';
    const timer = setTimeout(() => fail(new Error(`no SMTP greeting on port ${port} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.on('error', fail);
    socket.on('data', (d) => {
      buffer += d.toString('latin1');
      const line = /^(\d{3}) .*\r\n/.exec(buffer);
      if (!line) return;
      clearTimeout(timer);
      socket.end('QUIT\r\n');
      if (line[1] === '220' || line[1] === '554') resolve();
      else reject(new Error(`SMTP greeting on port ${port}: ${line[0].trim()}`));
    });
  });
}

/** Resolves when `role` is healthy in this container; rejects with the reason. */
export async function healthcheck(role: HealthRole, config: Config): Promise<void> {
  switch (role) {
    case 'api':
    case 'all':
      return httpOk(config.http.port, '/healthz');
    case 'worker':
      if (config.http.metricsPort === undefined) throw new Error('the worker role is checked on METRICS_PORT, which is not set');
      return httpOk(config.http.metricsPort, '/metrics');
    case 'relay':
      return smtpGreets(config.smtp.port);
    case 'bounce':
      return smtpGreets(config.returnPath.bouncePort);
  }
}

if (require.main === module) {
  let role = process.argv[2] as HealthRole | undefined;
  if (!role) {
    try {
      role = roleOfProcess(readFileSync('/proc/1/cmdline', 'utf8')) ?? 'all';
    } catch {
      role = 'all';
    }
  }
  if (!HEALTH_ROLES.includes(role)) {
    process.stderr.write(`healthcheck: unknown role "${role}"\n`);
    process.exit(2);
  }
  healthcheck(role, loadConfig()).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`healthcheck (${role}): ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
