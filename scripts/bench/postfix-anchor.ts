/**
 * bench:relay's Postfix anchor: when `postfix` is installed and ../shared/bench/postfix-anchor.sh
 * is beside the repo, configures Postfix with it (smtpd on 127.0.0.1:2625 relaying to
 * smtp-sink on 2626) and drives it with the same load client. Never installs Postfix.
 * Whatever the run started (Postfix itself, the smtp-sink) is stopped again afterwards.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { tcpOpen } from '../../src/dev/net-probe';
import type { Cleanup } from './children';
import { REPO, runLoad, wallNow, type LoadClient, type LoadResult } from './load-run';
import { CpuSampler, type CpuReport } from './proc-cpu';

const SINK_PATTERN = 'smtp-sink -u nobody 127.0.0.1:2626';

export interface PostfixRun {
  version: string;
  load: LoadResult;
  /** Wall-clock ms when `postqueue -p` first said the queue was empty; null if it never did (or was not empty before). */
  drainedAt: number | null;
  cpu: CpuReport;
}

function pids(pattern: string): number[] {
  const r = spawnSync('pgrep', ['-f', pattern], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

const queueEmpty = () => /Mail queue is empty/.test(spawnSync('postqueue', ['-p'], { encoding: 'utf8' }).stdout ?? '');

/** The anchor's figures, or the reason it was skipped. */
export async function runPostfixAnchor(client: LoadClient, count: number, sessions: number, cleanup: Cleanup): Promise<PostfixRun | string> {
  if (spawnSync('sh', ['-c', 'command -v postfix'], { stdio: 'ignore' }).status !== 0) return 'postfix is not installed (apt-get install -y postfix)';
  const script = resolve(REPO, '..', 'shared', 'bench', 'postfix-anchor.sh');
  if (!existsSync(script)) return `${script} is missing`;
  const wasRunning = spawnSync('postfix', ['status'], { stdio: 'ignore' }).status === 0;
  const sinksBefore = new Set(pids(SINK_PATTERN));
  cleanup.add('restore postfix', () => {
    for (const pid of pids(SINK_PATTERN)) if (!sinksBefore.has(pid)) process.kill(pid, 'SIGTERM');
    if (!wasRunning) spawnSync('postfix', ['stop'], { stdio: 'ignore' });
  });
  const setup = spawnSync('bash', [script], { encoding: 'utf8', timeout: 180_000 });
  if (!(await tcpOpen('127.0.0.1', 2625, 2000)) || !(await tcpOpen('127.0.0.1', 2626, 2000))) {
    return `postfix-anchor.sh did not bring up 127.0.0.1:2625 and :2626 (exit ${setup.status}): ${(setup.stderr || setup.stdout || '').trim().slice(-500)}`;
  }
  const version = spawnSync('postconf', ['-h', 'mail_version'], { encoding: 'utf8' }).stdout.trim();
  // Mail left in the queue by someone else would make the drain time meaningless.
  const drainable = queueEmpty();

  let loadPid = -1;
  const sampler = new CpuSampler([
    { label: 'Postfix daemons', match: (_p, cmd) => /^(\/usr\/lib\/postfix\/sbin\/master|smtpd|cleanup|qmgr|smtp|trivial-rewrite|tlsmgr|anvil|proxymap|pickup|bounce|scache) /.test(`${cmd} `) },
    { label: 'smtp-sink', match: (_p, cmd) => cmd.startsWith('smtp-sink ') },
    { label: 'load client', match: (pid) => pid === loadPid },
  ]);
  sampler.start();
  const load = await runLoad(client, { port: 2625, from: 'app@relay.test' }, count, sessions, (pid) => (loadPid = pid));
  let drainedAt: number | null = null;
  const deadline = Date.now() + 120_000;
  while (drainable && Date.now() < deadline) {
    if (queueEmpty()) {
      drainedAt = wallNow();
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { version, load, drainedAt, cpu: sampler.stop() };
}
