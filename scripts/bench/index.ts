/**
 * npm run bench — runs keygen, dns, sweep, api and relay (each also `npm run bench:<name>`),
 * then prints one table: each headline figure beside the baseline measured in the same run,
 * and their ratio. BENCH_SKIP=relay,dns leaves benchmarks out; BENCH_RESULTS=<file> gives
 * RESULT lines (of an earlier run, say) for those left out, marked as such in the table.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const BENCHES = ['keygen', 'dns', 'sweep', 'api', 'relay'];

/** A figure and its same-run baseline; `lower` when a smaller figure is better (a latency). */
interface Pairing {
  figure: string;
  baseline: string;
  lower?: boolean;
  /** The RESULT's own ratio, when the benchmark computes it from figures it does not print (dns: query rates). */
  ratioKey?: string;
  what: string;
}

const PAIRINGS: Record<string, Pairing[]> = {
  keygen: [{ figure: 'rsa2048_median_ms', baseline: 'rsa2048_native_median_ms', lower: true, what: 'RSA-2048 key (node-forge vs native crypto), ms' }],
  dns: [{ figure: 'checks_per_s', baseline: 'raw_qps', ratioKey: 'ratio', what: 'checks/s vs raw dns-packet queries/s (ratio: queries/s inside checks ÷ raw)' }],
  sweep: [{ figure: 'enqueued_per_s', baseline: 'enqueue_only_per_s', what: 'due domains swept/s vs bare enqueue/s' }],
  api: [{ figure: 'rps', baseline: 'baseline_rps', what: 'GET /v1/domains/:id req/s vs bare express route' }],
  relay: [
    { figure: 'accept_per_s', baseline: 'bare_per_s', what: 'accepted msgs/s vs bare smtp-server' },
    { figure: 'e2e_per_s', baseline: 'postfix_per_s', what: 'delivered msgs/s vs Postfix' },
  ],
};

const parse = (line: string) => Object.fromEntries(line.replace(/^RESULT \S+ /, '').split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

function resultsFrom(file: string | undefined): Map<string, string> {
  const found = new Map<string, string>();
  if (!file) return found;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^RESULT (\S+) /.exec(line.trim());
    if (m) found.set(m[1], line.trim());
  }
  return found;
}

const skip = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const earlier = resultsFrom(process.env.BENCH_RESULTS);
const rows: string[][] = [];
const lines: string[] = [];
for (const name of BENCHES) {
  let line: string | undefined;
  let source = 'this run';
  if (skip.has(name)) {
    line = earlier.get(name);
    source = line ? `from ${process.env.BENCH_RESULTS}` : 'skipped';
  } else {
    const file = join(__dirname, `${name}.js`);
    if (!existsSync(file)) {
      rows.push([name, '(not built)', '', '', '', '']);
      continue;
    }
    process.stdout.write(`\n== bench:${name}\n`);
    // bench:dns measures its memory: it wants --expose-gc as npm run bench:dns gives it.
    const r = spawnSync(process.execPath, [...(name === 'dns' ? ['--expose-gc'] : []), file], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
    process.stdout.write(r.stdout);
    line = r.status === 0 ? r.stdout.trim().split('\n').reverse().find((l) => l.startsWith('RESULT ')) : undefined;
    if (!line) source = `failed (exit ${r.status})`;
  }
  if (line) lines.push(line);
  const figures = line ? parse(line) : {};
  for (const p of PAIRINGS[name]) {
    const v = Number(figures[p.figure]);
    const b = Number(figures[p.baseline]);
    const own = p.ratioKey ? Number(figures[p.ratioKey]) : NaN;
    const ratio = Number.isFinite(own) ? own.toFixed(3) : line && Number.isFinite(v) && Number.isFinite(b) && b > 0 && v > 0 ? (p.lower ? b / v : v / b).toFixed(3) : 'n/a';
    rows.push([name, p.what, figures[p.figure] ?? '-', figures[p.baseline] ?? '-', ratio, source]);
  }
}

const head = ['bench', 'figure vs baseline', 'figure', 'baseline', 'ratio', 'source'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const fmt = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
process.stdout.write(`\n${fmt(head)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.map(fmt).join('\n')}\n`);
process.stdout.write('ratio: figure ÷ baseline (baseline ÷ figure for a latency), 1.0 = as fast as the baseline\n\n');
for (const l of lines) process.stdout.write(`${l}\n`);
