// Serves the built app (Vite's preview server, with the app's own vite.config.ts: its headers) and the hub
// on the same origin: /hub/ requests and the /hub/sync upgrade go to the hub before Vite sees them.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { preview, type Plugin, type PreviewServer } from 'vite';
import { JOIN_FRAGMENT_KEY } from '../src/hub/protocol.ts';
import { createHub, type Hub } from './hub/index.ts';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..');

export interface ServeOptions {
  /** The built app (`dist/`). */
  root: string;
  port: number;
  host: string;
  /** Where the hub keeps its secret and database. */
  hubDir: string;
}

export interface Served {
  server: PreviewServer;
  hub: Hub;
  urls: string[];
  close(): Promise<void>;
}

function hubPlugin(hub: Hub): Plugin {
  return {
    name: 'anytime-reid:hub',
    configurePreviewServer(server) {
      // Added here, not in a returned hook: ahead of Vite's own middlewares (static files, SPA fallback).
      server.middlewares.use((req, res, next) => {
        if (!hub.handleRequest(req, res)) next();
      });
      server.httpServer.on('upgrade', (req, socket, head) => {
        // Anything else (there is nothing else in preview) is not ours to answer.
        hub.handleUpgrade(req, socket, head);
      });
    },
  };
}

export async function serve({ root, port, host, hubDir }: ServeOptions): Promise<Served> {
  if (!existsSync(join(root, 'index.html'))) throw new Error(`${root} holds no built app (index.html): run npm run build first, or npm start`);
  const hub = createHub({ dir: hubDir });
  const configFile = join(PROJECT_ROOT, 'vite.config.ts');
  let server: PreviewServer;
  try {
    server = await preview({
      root: PROJECT_ROOT,
      configFile: existsSync(configFile) ? configFile : false,
      logLevel: 'warn',
      build: { outDir: root },
      preview: { port, host, strictPort: true, open: false },
      plugins: [hubPlugin(hub)],
    });
  } catch (e) {
    hub.close();
    throw e;
  }
  const urls = [...(server.resolvedUrls?.local ?? []), ...(server.resolvedUrls?.network ?? [])];
  console.log(`\nAnytime Re-ID is running at ${urls[0]}`);
  for (const url of urls.slice(1)) console.log(`  also at ${url}`);
  for (const url of urls) console.log(`Join link (carries the hub's secret): ${url}#${JOIN_FRAGMENT_KEY}=${hub.secret}`);
  console.log(`The hub keeps its data in ${hubDir} (secret and ${hub.file}).`);
  if (host !== 'localhost' && host !== '127.0.0.1' && host !== '::1') {
    console.log('The hub is reachable from other machines: anyone with the join link can read and change the shared gallery.');
  }
  console.log('Press Ctrl+C to stop.');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      hub.close();
      await server.close();
    })());
  return { server, hub, urls, close };
}

/** Closes the hub (and its database) on Ctrl+C or a polite kill, then exits. */
export function closeOnSignals(served: Served): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void served.close().then(() => process.exit(0));
    });
  }
}
