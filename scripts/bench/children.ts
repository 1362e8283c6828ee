/**
 * Child processes of a benchmark, and the clean-up that stops them and drops what they
 * made: in reverse order, on success, on failure, and on SIGINT/SIGTERM.
 */
import { fork, spawn, type ChildProcess, type ForkOptions, type SpawnOptions } from 'node:child_process';

type Disposer = { name: string; run: () => Promise<void> | void };

/** Clean-up steps, run last-registered first; each step at most `stepTimeoutMs`. */
export class Cleanup {
  private readonly steps: Disposer[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly stepTimeoutMs = 20_000) {}

  add(name: string, run: () => Promise<void> | void): void {
    this.steps.push({ name, run });
  }

  /** Runs every step once (later calls wait for the first). */
  run(): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length) {
        const step = this.steps.pop()!;
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            process.stderr.write(`[cleanup] ${step.name}: gave up after ${this.stepTimeoutMs} ms\n`);
            resolve();
          }, this.stepTimeoutMs);
        });
        await Promise.race([Promise.resolve().then(step.run), timeout]).catch((err: unknown) =>
          process.stderr.write(`[cleanup] ${step.name}: ${(err as Error).message}\n`),
        );
        clearTimeout(timer);
      }
    })();
    return this.running;
  }

  /** SIGINT/SIGTERM run the clean-up, then exit 130/143. */
  onSignals(): void {
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      process.once(signal, () => {
        process.stderr.write(`\n[bench] ${signal}: cleaning up\n`);
        void this.run().finally(() => process.exit(code));
      });
    }
  }
}

export interface Child {
  proc: ChildProcess;
  /** The JSON after `READY ` on the child's stdout. */
  ready: Record<string, unknown>;
  /** The last 4 KB the child wrote to stdout and stderr. */
  tail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function stopProcess(proc: ChildProcess, graceMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    const kill = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    proc.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

/**
 * Starts a child (`fork` for a node script with IPC, else `spawn`) and waits for it to
 * print `READY {json}` (or for `readyWhen`). Its stderr (and with `logStdout`, stdout)
 * goes to ours with a `[name]` prefix, at most `maxLogLines` lines. Registers its stop with `cleanup`.
 */
export async function startChild(
  name: string,
  how: { fork: string; args: string[]; options?: ForkOptions } | { spawn: string; args: string[]; options?: SpawnOptions },
  cleanup: Cleanup,
  opts: {
    timeoutMs?: number;
    maxLogLines?: number;
    /** Also show stdout lines (the service logs there). */
    logStdout?: boolean;
    /** Ready without a READY line once this resolves to something. */
    readyWhen?: () => Promise<Record<string, unknown> | null>;
  } = {},
): Promise<Child> {
  const proc =
    'fork' in how
      ? fork(how.fork, how.args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], ...how.options })
      : spawn(how.spawn, how.args, { stdio: ['ignore', 'pipe', 'pipe'], ...how.options });
  // Never outlive the bench, whatever way it ends.
  const onExit = () => proc.kill('SIGKILL');
  process.once('exit', onExit);
  proc.once('exit', () => process.removeListener('exit', onExit));
  let tail = '';
  const keep = (d: Buffer | string) => (tail = (tail + d.toString()).slice(-4096));
  let logged = 0;
  const maxLines = opts.maxLogLines ?? 40;
  const log = (line: string) => {
    if (!line.trim()) return;
    if (logged++ < maxLines) process.stderr.write(`[${name}] ${line}\n`);
    else if (logged === maxLines + 1) process.stderr.write(`[${name}] … (further output not shown)\n`);
  };
  const lines = (stream: NodeJS.ReadableStream, onLine: (line: string) => void) => {
    let buf = '';
    stream.on('data', (d: Buffer) => {
      keep(d);
      const parts = (buf + d.toString()).split('\n');
      buf = parts.pop()!;
      parts.forEach(onLine);
    });
  };
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    lines(proc.stderr!, log);
    lines(proc.stdout!, (line) => {
      const m = /^READY (.*)$/.exec(line);
      if (m) resolve(JSON.parse(m[1]));
      else if (opts.logStdout) log(line);
    });
    proc.once('exit', (code, signal) => reject(new Error(`${name} exited (${code ?? signal}) before it was ready: ${tail.trim().slice(-1500)}`)));
    proc.once('error', reject);
    if (opts.readyWhen) {
      const poll = async () => {
        while (proc.exitCode === null && proc.signalCode === null) {
          const r = await opts.readyWhen!().catch(() => null);
          if (r) return resolve(r);
          await new Promise((s) => setTimeout(s, 200));
        }
      };
      void poll();
    }
  });
  const child: Child = {
    proc,
    ready: {},
    tail: () => tail,
    stop: (graceMs) => stopProcess(proc, graceMs),
  };
  cleanup.add(`stop ${name}`, () => child.stop());
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} was not ready within ${timeoutMs} ms: ${tail.trim().slice(-1500)}`)), timeoutMs);
  });
  try {
    child.ready = await Promise.race([ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
  return child;
}

/** Sends `msg` over IPC and resolves with the first reply `accept` takes. */
export function ask<T>(proc: ChildProcess, msg: object, accept: (reply: unknown) => T | undefined, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.removeListener('message', onMessage);
      reject(new Error(`no IPC answer to ${JSON.stringify(msg).slice(0, 80)}`));
    }, timeoutMs);
    const onMessage = (reply: unknown) => {
      const v = accept(reply);
      if (v === undefined) return;
      clearTimeout(timer);
      proc.removeListener('message', onMessage);
      resolve(v);
    };
    proc.on('message', onMessage);
    proc.send(msg);
  });
}
