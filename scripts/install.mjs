// Installs the npm dependencies that node_modules lacks (what `npm start` and `npm test` do first). Plain
// Node only: nothing from node_modules can be loaded before this has run.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Direct dependencies that node_modules lacks. */
function missingDependencies() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
  return names.filter((name) => !existsSync(join(ROOT, 'node_modules', name, 'package.json')));
}

/** Runs `npm <args>` in the project, its output shown; true when it succeeded. */
export function npmRun(args, env = process.env) {
  console.log(`> npm ${args.join(' ')}`);
  return spawnSync(npm, args, { cwd: ROOT, env, stdio: 'inherit', shell: process.platform === 'win32' }).status === 0;
}

/** Installs the dependencies when any is missing; exits the process when that fails. */
export function installDependencies() {
  const missing = existsSync(join(ROOT, 'node_modules')) ? missingDependencies() : ['node_modules'];
  if (missing.length === 0) return;
  console.log(`Installing dependencies (missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})`);
  if (npmRun(['ci', '--no-audit', '--no-fund'])) return;
  // npm ci refuses a lock file that lacks entries (e.g. optional platform packages a registry mirror did
  // not have when it was written); npm install resolves them, and --no-save leaves the lock file as it is.
  console.log('npm ci failed; trying npm install --no-save instead.');
  if (npmRun(['install', '--no-save', '--no-audit', '--no-fund'])) return;
  console.error('Installing the dependencies failed: see the messages above.');
  process.exit(1);
}
