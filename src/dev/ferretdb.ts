import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const FERRETDB_VERSION = 'v1.24.2';
const MODULE = 'github.com/FerretDB/FerretDB';

/** Where the one-time FerretDB build lives; shared by `npm start` and `npm test`. */
export function ferretdbCacheDir(env: Record<string, string | undefined>): string {
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'mailwarden', `ferretdb-${FERRETDB_VERSION}`);
}

export function ferretdbBinary(env: Record<string, string | undefined>): string {
  return join(ferretdbCacheDir(env), 'bin', 'ferretdb');
}

function goAvailable(): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}

function run(cmd: string, args: string[], cwd: string | undefined, log: (m: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      // `go` reports each module it downloads on stderr: pass that on as progress.
      for (const line of String(d).split('\n')) if (line.trim()) log(`  ${line.trim()}`);
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.trim().slice(-2000)}`)),
    );
  });
}

/**
 * Builds FerretDB v1.24.2 once into the cache directory and returns the binary path.
 *
 * `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` compiles, but the
 * binary panics at start: the module zip lacks build/version/version.txt, which the
 * release build generates. So the same module source is fetched through the Go module
 * proxy (`go mod download`), version.txt is written, and it is built with `go build`.
 */
export async function ensureFerretdb(env: Record<string, string | undefined>, log: (m: string) => void): Promise<string | null> {
  const bin = ferretdbBinary(env);
  if (existsSync(bin)) return bin;
  if (!goAvailable()) {
    log('FerretDB: no cached binary and no Go toolchain to build one');
    return null;
  }
  const dir = ferretdbCacheDir(env);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  const started = Date.now();
  log(`FerretDB ${FERRETDB_VERSION}: one-time build into ${dir} (about a minute; go downloads modules first)`);
  const info = JSON.parse(await run('go', ['mod', 'download', '-json', `${MODULE}@${FERRETDB_VERSION}`], dir, log)) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(`go mod download ${MODULE}@${FERRETDB_VERSION} failed: ${info.Error ?? 'no Dir'}`);
  const src = join(dir, `src-${process.pid}`);
  rmSync(src, { recursive: true, force: true });
  cpSync(info.Dir, src, { recursive: true });
  // The module cache is read-only; the copy must be writable (and removable).
  spawnSync('chmod', ['-R', 'u+w', src]);
  writeFileSync(join(src, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
  log(`FerretDB: compiling (${Math.round((Date.now() - started) / 1000)}s so far)`);
  const tmpBin = `${bin}.${process.pid}.tmp`;
  try {
    await run('go', ['build', '-buildvcs=false', '-trimpath', '-o', tmpBin, './cmd/ferretdb'], src, log);
    renameSync(tmpBin, bin);
  } finally {
    rmSync(src, { recursive: true, force: true });
    rmSync(tmpBin, { force: true });
  }
  log(`FerretDB: built in ${Math.round((Date.now() - started) / 1000)}s`);
  return bin;
}
