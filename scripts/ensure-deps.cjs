#!/usr/bin/env node
// Installs dependencies with `npm ci` when node_modules is missing or older than
// package-lock.json, so `npm start` and `npm test` are the whole set-up on a fresh clone.
// Plain CommonJS with no dependencies: it must run before anything is installed.
'use strict';
const { existsSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
const lock = join(root, 'package-lock.json');
const marker = join(root, 'node_modules', '.package-lock.json');

function stale() {
  if (!existsSync(marker)) return true;
  return statSync(marker).mtimeMs < statSync(lock).mtimeMs;
}

if (stale()) {
  process.stderr.write('mailwarden: installing dependencies (npm ci)...\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`mailwarden: npm ci failed with exit code ${r.status}\n`);
    process.exit(r.status || 1);
  }
}
