#!/usr/bin/env node
import { isCliCommand, runCli } from './cli/cli';
import { ConfigError, loadConfig, type Config } from './config';
import type { Container, Role, RoleHandle, RunningRelayRole, RunningRoles } from './container';
import type { DevEnvironment } from './dev/bootstrap';
import { createLogger, wantsPrettyLogs } from './logger';
import { stopWithin } from './shutdown';

export type { Role };

export interface MainIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT). */
  stopSignal: Promise<string>;
  /** stdout is a terminal: outside production the logs are then human-readable (pino-pretty), and operator commands redraw in place. */
  stdoutIsTTY?: boolean;
  /** Registers what to do when the process is asked to reload (SIGHUP): re-read the relay's certificate. */
  onReload?: (handler: () => Promise<void>) => void;
}

const USAGE = `usage: mailwarden <api|worker|relay|bounce|all>, or mailwarden help for the operator commands\n`;

/** Runs one role until a stop signal; returns the process exit code. */
export async function main(argv: string[], env: Record<string, string | undefined>, io: MainIo): Promise<number> {
  // `mailwarden domains list` and the like talk to the HTTP API; they start no role.
  if (isCliCommand(argv[0])) return runCli(argv, env, io);
  // Loaded only for a role, so that an operator command starts without the service's modules.
  const { createContainer, ROLES } = await import('./container');
  const { prepareDevEnvironment } = await import('./dev/bootstrap');
  const role = (argv[0] ?? 'all') as Role;
  if (!ROLES.includes(role)) {
    io.stderr(USAGE);
    return 2;
  }
  const production = env.NODE_ENV === 'production';
  let config: Config;
  let dev: DevEnvironment | undefined;
  try {
    if (production) {
      config = loadConfig(env);
    } else {
      // Validate everything we will not fill in first, so a typo fails before any store starts.
      loadConfig({
        ...env,
        MONGODB_URI: env.MONGODB_URI || 'mongodb://placeholder',
        REDIS_URL: env.REDIS_URL || 'redis://placeholder',
        MASTER_KEY: env.MASTER_KEY || Buffer.alloc(32).toString('base64'),
        ADMIN_API_KEY: env.ADMIN_API_KEY || 'x'.repeat(32),
      });
      const bootLog = createLogger(env.LOG_LEVEL || 'info', undefined, { pretty: wantsPrettyLogs(env, io.stdoutIsTTY ?? false) });
      dev = await prepareDevEnvironment(env, (m) => bootLog.info(m), io.stdout);
      config = loadConfig(dev.env);
      for (const f of dev.filled) bootLog.info({ filled: f }, 'development: filled in a missing setting');
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`mailwarden: ${err.message}\n`);
      return 1;
    }
    io.stderr(`mailwarden: cannot start: ${(err as Error).message}\n`);
    await dev?.stop();
    return 1;
  }

  const logger = createLogger(config.logLevel, undefined, { pretty: wantsPrettyLogs(env, io.stdoutIsTTY ?? false) });
  let container: Container;
  try {
    container = await createContainer(config, logger, { defaultMetrics: true });
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'cannot connect to the stores');
    await dev?.stop();
    return 1;
  }

  let running: RoleHandle;
  try {
    running = await container.start(role);
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'cannot start');
    await container.close();
    await dev?.stop();
    return 1;
  }
  logger.info({ role, env: config.env }, 'mailwarden started');

  const relay = role === 'relay' ? (running as RunningRelayRole) : role === 'all' ? (running as RunningRoles).relay : null;
  io.onReload?.(async () => {
    if (!relay) return void logger.info({ role }, 'reload: this role has no certificate to reload');
    // A bad renewal must not take the relay down: it keeps serving the certificate it has.
    await relay.reloadTls().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'reload: the TLS certificate could not be loaded; keeping the old one'));
  });

  const signal = await io.stopSignal;
  const graceMs = config.shutdownGraceMs;
  logger.info({ signal, graceMs }, 'shutting down');
  // Stop accepting, let the roles finish what they hold, close the stores: all within
  // SHUTDOWN_GRACE_MS. A store that is already gone must not keep the process alive.
  const result = await stopWithin(
    [
      { name: `role ${role}`, run: () => running.close() },
      { name: 'stores', run: () => container.close() },
    ],
    graceMs,
    logger,
  );
  if (result.forced) {
    running.forceClose();
    const dropped = container.forceClose();
    logger.warn({ graceMs, abandoned: result.abandoned, dropped }, 'shutdown deadline passed: abandoned what had not finished');
  }
  await dev?.stop();
  logger.info({ forced: result.forced }, 'stopped');
  // 1 tells the supervisor that the stop was forced and work may have been cut short.
  return result.forced ? 1 : 0;
}

if (require.main === module) {
  const stopSignal = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  main(process.argv.slice(2), process.env, {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    stdoutIsTTY: process.stdout.isTTY === true,
    stopSignal,
    onReload: (handler) => process.on('SIGHUP', () => void handler()),
  }).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`mailwarden: fatal: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
