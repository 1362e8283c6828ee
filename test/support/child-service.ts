import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

export interface ChildService {
  child: ChildProcess;
  /** Every stdout and stderr line so far. */
  lines: string[];
}

/** Starts `mailwarden <role>` from the TypeScript sources in a child process, with an explicit environment. */
export function startChildService(role: string, env: Record<string, string | undefined>): ChildService {
  const child = spawn(process.execPath, ['-r', join(root, 'test/support/swc-register.cjs'), join(root, 'src/main.ts'), role], {
    cwd: root,
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buffered = '';
  const collect = (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  return { child, lines };
}

/** Resolves once the child has printed a line matching `re`; rejects if it exits first or `ms` pass. */
export function waitForLine({ child, lines }: ChildService, re: RegExp, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => lines.some((l) => re.test(l));
    if (check()) return resolve();
    const done = () => {
      clearTimeout(t);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      child.off('exit', onExit);
    };
    const t = setTimeout(() => {
      done();
      reject(new Error(`no line matching ${re} within ${ms} ms; output so far:\n${lines.join('\n')}`));
    }, ms);
    // 'data' listeners run after the collector (registered first), so `lines` is up to date.
    const onData = () => {
      if (!check()) return;
      done();
      resolve();
    };
    const onExit = () => {
      done();
      if (check()) resolve();
      else reject(new Error(`exited before printing ${re}:\n${lines.join('\n')}`));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Kills the child with SIGKILL (no shutdown of any kind) and resolves once it has exited. */
export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** The command line that runs `mailwarden` from the TypeScript sources (for a shell, tmux, or spawn). */
export function mailwardenCommand(): string[] {
  return [process.execPath, '-r', join(root, 'test/support/swc-register.cjs'), join(root, 'src/main.ts')];
}

/** Runs `mailwarden <args>` (an operator command) to its end; its exit code and output. */
export function runMailwarden(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [node, ...pre] = mailwardenCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(node, [...pre, ...args], { cwd: root, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
