import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { ensureFerretdb } from './ferretdb';
import { freePort, hostReachable, redisAnswers, tcpOpen, waitFor } from './net-probe';

/**
 * Finds or starts the stores for tests and for `npm start` outside production
 * (DESIGN §8). Tests and the dev start use this same chain.
 */

export interface ServiceHandle {
  uri: string;
  /** How it was found: env, memory-server, ferretdb-postgresql, ferretdb-sqlite, local, redis-server. */
  source: string;
  stop(): Promise<void>;
}

export interface DiscoveryOptions {
  env: Record<string, string | undefined>;
  log: (message: string) => void;
  /** Directory for data that must survive restarts (dev); a throwaway directory when unset (tests). */
  persistDir?: string;
  /** Scratch directory for state of started services. */
  scratchDir: string;
}

const noop = async () => {};

function stopChild(child: ChildProcess, after?: () => void): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      const finish = () => {
        after?.();
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null) return finish();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(kill);
        finish();
      });
      child.kill('SIGTERM');
    });
}

function spawnService(cmd: string, args: string[], log: (m: string) => void, name: string): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGKILL') log(`${name} exited (${code ?? signal}): ${tail.trim().slice(-1500)}`);
  });
  // Never outlive the parent (a crashed jest or npm start must not leak servers).
  process.once('exit', () => child.kill('SIGKILL'));
  return child;
}

async function tryMemoryServer(opts: DiscoveryOptions): Promise<ServiceHandle | null> {
  let mod: typeof import('mongodb-memory-server-core');
  try {
    mod = await import('mongodb-memory-server-core');
  } catch {
    opts.log('mongodb-memory-server: not installed, skipping');
    return null;
  }
  const cacheDir = opts.env.MONGOMS_DOWNLOAD_DIR || join(opts.env.HOME || homedir(), '.cache', 'mongodb-binaries');
  const hasBinary = Boolean(opts.env.MONGOMS_SYSTEM_BINARY) || spawnSync('sh', ['-c', `ls "${cacheDir}"/mongod* >/dev/null 2>&1`]).status === 0;
  if (!hasBinary) {
    // Its download has no useful timeout of its own: probe the host first so that an
    // offline machine falls through in seconds instead of hanging.
    const url = opts.env.MONGOMS_DOWNLOAD_URL || opts.env.MONGOMS_DOWNLOAD_MIRROR || 'https://fastdl.mongodb.org';
    const host = new URL(url).hostname;
    if (!(await hostReachable(host, 443, 3000))) {
      opts.log(`mongodb-memory-server: no cached mongod and ${host} is unreachable, skipping`);
      return null;
    }
  }
  try {
    const dbPath = opts.persistDir ? join(opts.persistDir, 'mongodb') : undefined;
    if (dbPath) mkdirSync(dbPath, { recursive: true });
    const server = await mod.MongoMemoryServer.create({ instance: { ip: '127.0.0.1', dbPath, storageEngine: 'wiredTiger' } });
    return { uri: server.getUri(), source: 'memory-server', stop: async () => void (await server.stop({ doCleanup: !dbPath, force: false })) };
  } catch (err) {
    opts.log(`mongodb-memory-server: failed (${(err as Error).message.split('\n')[0]}), skipping`);
    return null;
  }
}

function psql(pgUrl: string, sql: string): { ok: boolean; error: string } {
  const r = spawnSync('psql', [pgUrl, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { encoding: 'utf8', timeout: 15000 });
  return { ok: r.status === 0, error: (r.stderr || String(r.error ?? '')).trim() };
}

async function tryFerretdb(opts: DiscoveryOptions): Promise<ServiceHandle | null> {
  const bin = await ensureFerretdb(opts.env, opts.log);
  if (!bin) return null;
  const port = await freePort();
  const stateDir = join(opts.scratchDir, `ferretdb-state-${port}`);
  mkdirSync(stateDir, { recursive: true });
  const adminUrl = opts.env.FERRETDB_POSTGRESQL_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const pg = new URL(adminUrl);
  const args = ['--listen-addr', `127.0.0.1:${port}`, '--state-dir', stateDir, '--telemetry', 'disable', '--log-level', 'warn', '--debug-addr', '-'];
  let source: string;
  let after: (() => void) | undefined;
  const pgUp = !opts.persistDir && (await tcpOpen(pg.hostname, Number(pg.port || 5432), 1000)) && spawnSync('psql', ['--version']).status === 0;
  if (pgUp) {
    // A fresh PostgreSQL database per run, dropped again when the run ends.
    const db = `mailwarden_test_${process.pid}_${Date.now().toString(36)}`;
    const created = psql(adminUrl, `CREATE DATABASE ${db}`);
    if (!created.ok) throw new Error(`FerretDB: cannot create PostgreSQL database ${db}: ${created.error}`);
    const dbUrl = new URL(adminUrl);
    dbUrl.pathname = `/${db}`;
    args.push('--handler', 'postgresql', '--postgresql-url', dbUrl.toString());
    source = 'ferretdb-postgresql';
    after = () => void psql(adminUrl, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  } else {
    const dir = opts.persistDir ? resolvePath(opts.persistDir, 'ferretdb') : join(stateDir, 'sqlite');
    mkdirSync(dir, { recursive: true });
    args.push('--handler', 'sqlite', '--sqlite-url', `file:${dir}/`);
    source = 'ferretdb-sqlite';
  }
  const child = spawnService(bin, args, opts.log, 'FerretDB');
  const up = await waitFor(async () => child.exitCode === null && (await tcpOpen('127.0.0.1', port, 500)), 30_000);
  const stop = stopChild(child, after);
  if (!up) {
    await stop();
    throw new Error(`FerretDB did not start on 127.0.0.1:${port} (${source}); see the log above`);
  }
  return { uri: `mongodb://127.0.0.1:${port}/`, source, stop };
}

/** MONGODB_URI, then mongodb-memory-server, then FerretDB v1.24.2, else a clear error. */
export async function findOrStartMongo(opts: DiscoveryOptions): Promise<ServiceHandle> {
  if (opts.env.MONGODB_URI) return { uri: opts.env.MONGODB_URI, source: 'env', stop: noop };
  const mem = await tryMemoryServer(opts);
  if (mem) return mem;
  const ferret = await tryFerretdb(opts);
  if (ferret) return ferret;
  throw new Error(
    'No MongoDB available. Set MONGODB_URI to a running MongoDB, make mongodb-memory-server able to ' +
      'download mongod (internet access or MONGOMS_SYSTEM_BINARY), or install Go 1.21+ and PostgreSQL ' +
      'so that FerretDB v1.24.2 can be built and run.',
  );
}

/** REDIS_URL, then 127.0.0.1:6379, then a redis-server started on a free port, else a clear error. */
export async function findOrStartRedis(opts: DiscoveryOptions): Promise<ServiceHandle> {
  if (opts.env.REDIS_URL) return { uri: opts.env.REDIS_URL, source: 'env', stop: noop };
  if (await redisAnswers('127.0.0.1', 6379, 1000)) return { uri: 'redis://127.0.0.1:6379', source: 'local', stop: noop };
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('No Redis available. Set REDIS_URL, run Redis on 127.0.0.1:6379, or install redis-server.');
  }
  const port = await freePort();
  const dir = opts.persistDir ? resolvePath(opts.persistDir, 'redis') : join(opts.scratchDir, `redis-${port}`);
  mkdirSync(dir, { recursive: true });
  const persistence = opts.persistDir ? ['--appendonly', 'yes'] : ['--save', '', '--appendonly', 'no'];
  const child = spawnService('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, ...persistence], opts.log, 'redis-server');
  const up = await waitFor(() => redisAnswers('127.0.0.1', port, 500), 15_000);
  const stop = stopChild(child);
  if (!up) {
    await stop();
    throw new Error(`redis-server did not start on 127.0.0.1:${port}`);
  }
  return { uri: `redis://127.0.0.1:${port}`, source: 'redis-server', stop };
}
