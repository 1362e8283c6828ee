/** npm run bench — runs every benchmark and prints their RESULT lines as a table. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const BENCHES = ['keygen', 'dns', 'sweep', 'relay', 'relay-data', 'api', 'allowlist'];

const rows: Array<[string, string]> = [];
for (const name of BENCHES) {
  const file = join(__dirname, `${name}.js`);
  if (!existsSync(file)) {
    rows.push([name, '(not built yet)']);
    continue;
  }
  process.stdout.write(`\n== bench:${name}\n`);
  const r = spawnSync(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  process.stdout.write(r.stdout);
  const line = r.stdout.trim().split('\n').reverse().find((l) => l.startsWith('RESULT '));
  rows.push([name, r.status === 0 && line ? line.replace(/^RESULT \S+ /, '') : `failed (exit ${r.status})`]);
}
process.stdout.write('\nbench    | figures\n---------|--------\n');
for (const [name, figures] of rows) process.stdout.write(`${name.padEnd(8)} | ${figures}\n`);
