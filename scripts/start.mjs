#!/usr/bin/env node
// `npm start`: installs what is missing, builds the app (with the shipped model), serves the production
// build and prints its URL. Runs with plain Node: nothing from node_modules is loaded before it is installed.
//
// PORT (default 4173) and HOST (default localhost) choose where it listens.

import { installDependencies, ROOT } from './install.mjs';

async function main() {
  installDependencies();
  // Imported only now: on a fresh clone vite did not exist until installDependencies() ran.
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
