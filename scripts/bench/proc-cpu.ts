/**
 * CPU time per process group, read from /proc (Linux): which process spent the time
 * during a benchmark's load. Processes are matched by pid or by their command line; a
 * sampler polls while it runs, so processes that start (or exit) mid-load are counted.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

const TICKS_PER_S = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout?.trim()) || 100;
})();

export interface ProcessGroup {
  label: string;
  /** True when this process belongs to the group. */
  match(pid: number, cmdline: string): boolean;
}

/** utime + stime of `pid` in clock ticks, or null once it is gone. */
function cpuTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may contain spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

function cmdlineOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return null;
  }
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.reduce((a, b) => a + b, 0);
    const idle = cpu[3] + (cpu[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}

export interface CpuReport {
  seconds: number;
  /** CPU seconds per group, in the order the groups were given. */
  groups: Array<{ label: string; cpuS: number; processes: number }>;
  /** CPU seconds of every process on the machine, ours included. */
  machineBusyS: number;
  cores: number;
}

/**
 * Polls /proc every `intervalMs` from start() to stop(). A process first seen after
 * start() counts from zero; one that exits counts up to its last sample.
 */
export class CpuSampler {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private readonly groupOf = new Map<number, number>();
  private readonly known = new Map<number, string | null>();
  private timer?: NodeJS.Timeout;
  private t0 = 0;
  private machine0 = { busy: 0, total: 0 };
  private startedPids = new Set<number>();

  constructor(
    private readonly groups: ProcessGroup[],
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.t0 = performance.now();
    this.machine0 = machineTicks();
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), this.intervalMs);
    this.timer.unref();
  }

  stop(): CpuReport {
    clearInterval(this.timer);
    this.sample(false);
    const seconds = (performance.now() - this.t0) / 1000;
    const machine = machineTicks();
    const sums = this.groups.map((g) => ({ label: g.label, cpuS: 0, processes: 0 }));
    for (const [pid, g] of this.groupOf) {
      const start = this.startedPids.has(pid) ? (this.first.get(pid) ?? 0) : 0;
      sums[g].cpuS += ((this.last.get(pid) ?? start) - start) / TICKS_PER_S;
      sums[g].processes++;
    }
    const cores = Math.max(1, Math.round((machine.total - this.machine0.total) / TICKS_PER_S / Math.max(seconds, 1e-3)));
    return { seconds, groups: sums, machineBusyS: (machine.busy - this.machine0.busy) / TICKS_PER_S, cores };
  }

  private sample(initial: boolean): void {
    let pids: number[];
    try {
      pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
    } catch {
      return;
    }
    for (const pid of pids) {
      if (!this.known.has(pid)) {
        const cmd = cmdlineOf(pid);
        this.known.set(pid, cmd);
        const g = cmd === null ? -1 : this.groups.findIndex((grp) => grp.match(pid, cmd));
        if (g >= 0) {
          this.groupOf.set(pid, g);
          if (initial) this.startedPids.add(pid);
        }
      }
      if (!this.groupOf.has(pid)) continue;
      const ticks = cpuTicks(pid);
      if (ticks === null) continue;
      if (!this.first.has(pid)) this.first.set(pid, ticks);
      this.last.set(pid, ticks);
    }
  }
}

/** The FerretDB process serving `uri` (started by the bench chain), and its PostgreSQL database. */
export function findFerretDb(uri: string): { pid: number; pgDatabase: string | null } | null {
  let port: string;
  try {
    port = new URL(uri).port;
  } catch {
    return null;
  }
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (/ferretdb/.test(cmd) && cmd.includes(`--listen-addr 127.0.0.1:${port} `)) {
      return { pid: Number(d), pgDatabase: /--postgresql-url \S+\/([^/?\s]+)/.exec(cmd)?.[1] ?? null };
    }
  }
  return null;
}

/** Prints CPU seconds per group for each report (columns), and ms per message for the last. */
export function printCpuTable(title: string, reports: Array<{ head: string; r: CpuReport }>, perMessage: number): void {
  console.log(`\n${title}`);
  console.log(`${'process'.padEnd(48)}${reports.map((x) => x.head.padStart(26)).join('')}   ms CPU/msg (last column)`);
  const last = reports[reports.length - 1].r;
  for (let i = 0; i < last.groups.length; i++) {
    const cells = reports.map((x) => `${round(x.r.groups[i].cpuS, 1)} s`.padStart(26)).join('');
    const perMsg = perMessage > 0 ? round((last.groups[i].cpuS * 1000) / perMessage, 2) : 'n/a';
    console.log(`${`${last.groups[i].label} (${last.groups[i].processes})`.padEnd(48)}${cells}   ${perMsg}`);
  }
  const ours = (r: CpuReport) => r.groups.filter((g) => !g.label.includes('shared')).reduce((a, g) => a + g.cpuS, 0);
  console.log(`${'all of the above, shared excluded'.padEnd(48)}${reports.map((x) => `${round(ours(x.r), 1)} s`.padStart(26)).join('')}`);
  const all = (r: CpuReport) => r.groups.reduce((a, g) => a + g.cpuS, 0);
  console.log(`${'everything else on the machine'.padEnd(48)}${reports.map((x) => `${round(Math.max(0, x.r.machineBusyS - all(x.r)), 1)} s`.padStart(26)).join('')}`);
  console.log(
    `${'whole machine busy (every process)'.padEnd(48)}${reports.map((x) => `${round(x.r.machineBusyS, 1)} of ${round(x.r.seconds * x.r.cores, 1)} s`.padStart(26)).join('')}`,
  );
}
