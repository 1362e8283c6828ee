import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const sources = join(root, 'src', 'console', 'web');
const built = join(root, 'dist', 'console', 'index.html');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Builds the owner console (`npm run build:console`) when dist/console is missing or older
 * than its sources, so `npm test` on a fresh clone serves the page the browser tests open.
 */
export function ensureConsoleBuilt(log: (m: string) => void): void {
  if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(sources)) return;
  log('building the owner console (vite)');
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', join(sources, 'vite.config.ts')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`building the console failed (exit ${r.status})`);
}
