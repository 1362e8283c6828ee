/**
 * Runs the relay load client as a process of its own: ../shared/bench/load.js when it
 * sits beside the repo (the anchor figures come from it), else scripts/bench/load-client.ts,
 * which behaves the same.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository root, from dist/scripts/bench. */
export const REPO = resolve(__dirname, '..', '..', '..');

export interface LoadClient {
  path: string;
  label: string;
}

export function loadClient(): LoadClient {
  const shared = resolve(REPO, '..', 'shared', 'bench', 'load.js');
  if (process.env.BENCH_LOAD_CLIENT !== 'builtin' && existsSync(shared)) return { path: shared, label: '../shared/bench/load.js' };
  return { path: join(__dirname, 'load-client.js'), label: 'scripts/bench/load-client.ts' };
}

export interface LoadResult {
  msgsPerS: number;
  ok: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
  /** Wall-clock ms since the epoch: the client's first send and its RESULT line. */
  startAt: number;
  endAt: number;
}

export const wallNow = () => performance.timeOrigin + performance.now();

/**
 * `node <client> HOST PORT COUNT CONC [user pass]` with NODE_PATH at the project's
 * node_modules and FROM set; `onSpawn` gets the pid (for CPU accounting).
 */
export function runLoad(
  client: LoadClient,
  target: { port: number; user?: string; pass?: string; from: string },
  count: number,
  sessions: number,
  onSpawn: (pid: number) => void = () => {},
): Promise<LoadResult> {
  const args = [client.path, '127.0.0.1', String(target.port), String(count), String(sessions)];
  if (target.user) args.push(target.user, target.pass ?? '');
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_PATH: join(REPO, 'node_modules'), FROM: target.from },
  });
  const kill = () => proc.kill('SIGKILL');
  process.once('exit', kill);
  const spawnedAt = wallNow();
  onSpawn(proc.pid!);
  return new Promise((resolvePromise, reject) => {
    let out = '';
    let err = '';
    let line: string | null = null;
    let lineAt = 0;
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^RESULT load .*$/m.exec(out);
      if (m && line === null) {
        line = m[0];
        lineAt = wallNow();
      }
    });
    proc.stderr.on('data', (d: Buffer) => {
      if (err.length < 2000) process.stderr.write(`[load] ${d.toString()}`);
      err += d.toString();
    });
    proc.once('error', reject);
    proc.once('exit', (code) => {
      process.removeListener('exit', kill);
      if (line === null) return reject(new Error(`the load client exited (${code}) without a RESULT line: ${err.slice(-1500)}`));
      const f = Object.fromEntries([...line.matchAll(/(\w+)=([\d.]+)/g)].map((m) => [m[1], Number(m[2])]));
      const ok = f.ok ?? 0;
      const msgsPerS = f.msgs_per_s ?? 0;
      // The client times itself from its first send; its RESULT line marks the end.
      const startAt = ok > 0 && msgsPerS > 0 ? lineAt - (ok / msgsPerS) * 1000 : spawnedAt;
      resolvePromise({ msgsPerS, ok, failed: f.failed ?? 0, p50Ms: f.p50_ms ?? NaN, p99Ms: f.p99_ms ?? NaN, startAt, endAt: lineAt });
    });
  });
}
