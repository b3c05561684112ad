// A real hub for the e2e tests: `server/main.ts` as a process of its own (serving the built dist/ and the
// hub on one loopback port, the way `npm start` does), in a temporary HUB_DIR. Tests stop it, SIGKILL it
// and restart it on the same port and directory.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HOST = '127.0.0.1';
/** What server/main.ts prints once it listens; the fragment carries the secret. */
const JOIN_LINE = /Join link \(carries the hub's secret\): (\S+)#hub=([0-9a-f]+)/;
const START_TIMEOUT_MS = 60_000;

export interface HubProcess {
  /** Origin of the app and the hub, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** The secret as printed in the join link (and kept in `<dir>/secret`). */
  readonly secret: string;
  /** The join link: the app's URL with `query` (e.g. "?backend=wasm") and the `#hub=` fragment. */
  joinLink(query?: string): string;
  /** Graceful stop (SIGTERM), then waits for the process to exit. */
  stop(): Promise<void>;
  /** SIGKILL: no chance to flush or close anything. */
  kill(): Promise<void>;
  /** Starts the hub again on the same port and directory (after stop or kill). */
  restart(): Promise<void>;
  /** Stops the process if it runs and deletes the directory. */
  dispose(): Promise<void>;
  /** Everything the process has printed, for failure messages. */
  output(): string;
}

/** A loopback port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A fresh hub in a new temporary directory on a free loopback port. */
export async function startHub(): Promise<HubProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anytime-reid-hub-e2e-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  let log = '';
  let secret = '';

  const launch = async () => {
    // One process, no npx/tsx wrapper in between: a SIGKILL must hit the process that holds the database.
    const proc = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: REPO,
      env: { ...process.env, PORT: String(port), HOST, HUB_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    log += `[hub started ${new Date().toISOString()}]\n`;
    const printed = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the hub printed no join link within ${START_TIMEOUT_MS} ms:\n${log}`)), START_TIMEOUT_MS);
      let printedNow = '';
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        printedNow += chunk.toString();
        const m = JOIN_LINE.exec(printedNow);
        if (m && new URL(m[1]).port === String(port)) {
          clearTimeout(timer);
          resolve(m[2]);
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
      proc.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the hub exited (${signal ?? code}) before printing its join link:\n${log}`));
      });
    });
    const stored = fs.readFileSync(path.join(dir, 'secret'), 'utf8').trim();
    if (stored !== printed) throw new Error(`the join link's secret differs from ${dir}/secret`);
    secret = printed;
  };

  const end = async (signal: NodeJS.Signals) => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
  };

  await launch();
  const url = `http://${HOST}:${port}`;
  return {
    url,
    port,
    dir,
    get secret() {
      return secret;
    },
    joinLink: (query = '') => `${url}/${query}#hub=${secret}`,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    restart: async () => {
      await end('SIGTERM');
      await launch();
    },
    dispose: async () => {
      await end('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
    output: () => log,
  };
}
