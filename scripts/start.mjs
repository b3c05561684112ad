#!/usr/bin/env node
// `npm start`: installs what is missing, builds the app (with the shipped model), serves the production
// build and prints its URL. Runs with plain Node: nothing from node_modules is loaded before it is installed.
//
// PORT (default 4173) and HOST (default localhost) choose where it listens.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Direct dependencies that node_modules lacks. */
function missingDependencies() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
  return names.filter((name) => !existsSync(join(ROOT, 'node_modules', name, 'package.json')));
}

function npmRun(args) {
  console.log(`> npm ${args.join(' ')}`);
  return spawnSync(npm, [...args, '--no-audit', '--no-fund'], { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' }).status === 0;
}

function install() {
  const missing = existsSync(join(ROOT, 'node_modules')) ? missingDependencies() : ['node_modules'];
  if (missing.length === 0) return;
  console.log(`Installing dependencies (missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})`);
  if (npmRun(['ci'])) return;
  // npm ci refuses a lock file that lacks entries (e.g. optional platform packages a registry mirror did
  // not have when it was written); npm install resolves them, and --no-save leaves the lock file as it is.
  console.log('npm ci failed; trying npm install --no-save instead.');
  if (npmRun(['install', '--no-save'])) return;
  console.error('Installing the dependencies failed: see the messages above.');
  process.exit(1);
}

async function main() {
  install();
  // Imported only now: on a fresh clone vite did not exist until install() ran.
  const { build, preview } = await import('vite');
  console.log('Building the app…');
  await build({ root: ROOT, logLevel: 'warn' });
  const server = await preview({
    root: ROOT,
    preview: { port: Number(process.env.PORT ?? 4173), host: process.env.HOST ?? 'localhost', open: false },
  });
  const urls = [...(server.resolvedUrls?.local ?? []), ...(server.resolvedUrls?.network ?? [])];
  console.log(`\nAnytime Re-ID is running at ${urls[0] ?? `http://localhost:${process.env.PORT ?? 4173}/`}`);
  for (const url of urls.slice(1)) console.log(`  also at ${url}`);
  console.log('Press Ctrl+C to stop.');
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
