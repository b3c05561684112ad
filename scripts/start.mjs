#!/usr/bin/env node
// `npm start`: installs what is missing, builds the app (with the shipped model), then serves the
// production build and the hub on the same origin (server/serve.ts) and prints the URL and the join link.
// Runs with plain Node: nothing from node_modules is loaded before it is installed.
//
// PORT (default 4173) and HOST (default localhost) choose where it listens; HUB_DIR (default .hub) is
// where the hub keeps its secret and database.

import { join, resolve } from 'node:path';
import { installDependencies, ROOT } from './install.mjs';

async function main() {
  installDependencies();
  // Imported only now: on a fresh clone vite and tsx did not exist until installDependencies() ran.
  const { build } = await import('vite');
  console.log('Building the app…');
  await build({ root: ROOT, logLevel: 'warn' });
  const { tsImport } = await import('tsx/esm/api');
  const { serve, closeOnSignals } = await tsImport('../server/serve.ts', import.meta.url);
  const served = await serve({
    root: join(ROOT, 'dist'),
    port: Number(process.env.PORT ?? 4173),
    host: process.env.HOST ?? 'localhost',
    hubDir: resolve(process.env.HUB_DIR ?? join(ROOT, '.hub')),
  });
  closeOnSignals(served);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
