import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { redisAnswers, waitFor } from '../../src/dev/net-probe';

/** A restartable child process: its log goes to a file of its own, and kill() is kill -9. */
export class ChaosProcess {
  private proc: ChildProcess | null = null;
  private starts = 0;
  /** Runs that exited before they were ready (started again, as a supervisor would). */
  exits = 0;
  /** Set once this run of the process logged `mailwarden started`. */
  started = false;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly logDir: string,
  ) {
    mkdirSync(logDir, { recursive: true });
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /**
   * Starts the process and waits until `ready` says it serves. Like a supervisor with
   * `restart: always`, a process that exits before it is ready (a store still down) is
   * started again a second later, until `timeoutMs` pass.
   */
  async start(ready: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const proc = this.spawnOnce();
      const up = await waitFor(async () => proc.exitCode !== null || (await ready()), deadline - Date.now(), 200);
      if (up && proc.exitCode === null) return;
      this.exits++;
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`${this.name} did not become ready within ${timeoutMs} ms (logs: ${this.logDir}/${this.name}.*.log)`);
  }

  private spawnOnce(): ChildProcess {
    const log = createWriteStream(join(this.logDir, `${this.name}.${++this.starts}.log`));
    const proc = spawn(this.command, this.args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.pipe(log);
    proc.stderr!.pipe(log);
    this.started = false;
    proc.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.includes('mailwarden started')) this.started = true;
    });
    this.proc = proc;
    return proc;
  }

  /** kill -9: no shutdown of any kind. Resolves once the process is gone. */
  kill(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    return new Promise((resolve) => {
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  }

  /** SIGKILL without waiting (on the way out of the script). */
  killNow(): void {
    this.proc?.kill('SIGKILL');
  }

  /** A graceful stop (SIGTERM), then SIGKILL after `graceMs`. */
  stop(graceMs = 15_000): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    return new Promise((resolve) => {
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      proc.kill('SIGTERM');
    });
  }
}

/** A redis-server without persistence on `port`: a kill -9 loses everything it held. */
export function redisProcess(port: number, dir: string, logDir: string): { proc: ChaosProcess; start(): Promise<void> } {
  mkdirSync(dir, { recursive: true });
  const proc = new ChaosProcess('redis', 'redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no'], process.env, logDir);
  return { proc, start: () => proc.start(() => redisAnswers('127.0.0.1', port, 300), 15_000) };
}
