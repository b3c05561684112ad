// SIGKILL durability: the real server process (server/main.ts), killed with -9 right after acks, restarted
// on the same dir. Every acknowledged event is there, and a device that pushes everything again (it cannot
// know which of its unacknowledged events made it) gets no duplicates.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { HUB_LIMITS, type HubEvent } from '../../src/hub/protocol.ts';
import { openSqliteHubStore } from './store.ts';
import { seededRandom, syntheticAdd } from './synthetic.ts';
import { HubTestClient } from './testClient.ts';

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string;
let child: ChildProcess | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hub-kill-'));
  mkdirSync(join(dir, 'site'));
  writeFileSync(join(dir, 'site', 'index.html'), '<!doctype html><title>app</title>');
});

afterEach(() => {
  child?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Starts server/main.ts on a free port; resolves with its origin and secret from the join link it prints. */
function startServer(): Promise<{ origin: string; secret: string; process: ChildProcess }> {
  // `node --import tsx`, not the tsx CLI: the CLI runs the script in a child process, which a SIGKILL of
  // the CLI would leave running.
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'server/main.ts'), '--root', join(dir, 'site')], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', HUB_DIR: join(dir, 'hub') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the server printed no join link:\n${out}`)), 60_000);
    const read = (chunk: Buffer) => {
      out += String(chunk);
      const link = /Join link \(carries the hub's secret\): (http:\/\/[^/\s]+)\/#hub=([0-9a-f]{64})/.exec(out);
      if (link) {
        clearTimeout(timer);
        resolve({ origin: link[1], secret: link[2], process: proc });
      }
    };
    proc.stdout?.on('data', read);
    proc.stderr?.on('data', read);
    proc.once('exit', (code) => reject(new Error(`the server exited (${code}):\n${out}`)));
  });
}

function killed(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

it('keeps every acknowledged event through a SIGKILL, and a replay after restart adds no duplicates', async () => {
  const random = seededRandom(42);
  const events: HubEvent[] = Array.from({ length: 300 }, (_, i) => syntheticAdd({ id: `k${i}`, random }));
  const first = await startServer();
  const a = await HubTestClient.connect(first.origin, first.secret);
  await a.sync('device-a', 0);
  const acked: string[] = [];
  for (let i = 0; i < 200; i += HUB_LIMITS.eventsPerPush) {
    a.send({ type: 'push', events: events.slice(i, i + HUB_LIMITS.eventsPerPush) });
    acked.push(...(await a.next('ack')).ids);
  }
  // The last 100 are pushed and the process is killed as soon as the first acks come: mid-sync.
  a.send({ type: 'push', events: events.slice(200, 250) });
  a.send({ type: 'push', events: events.slice(250, 300) });
  acked.push(...(await a.next('ack')).ids);
  await killed(first.process);
  expect(acked.length).toBeGreaterThanOrEqual(250);

  const store = openSqliteHubStore(join(dir, 'hub', 'hub.sqlite'));
  const stored = store.eventsSince(0, 1000).map((e) => e.id);
  store.close();
  expect(stored.slice(0, acked.length)).toEqual(acked); // every ack, in order, nothing before them lost
  expect(events.map((e) => e.id).slice(0, stored.length)).toEqual(stored); // nothing that was not pushed

  const second = await startServer();
  expect(second.secret).toBe(first.secret);
  const b = await HubTestClient.connect(second.origin, second.secret);
  const resumed = await b.sync('device-a', acked.length);
  expect(resumed.events.map((e) => e.id)).toEqual(stored.slice(acked.length));
  for (let i = 0; i < events.length; i += HUB_LIMITS.eventsPerPush) {
    b.send({ type: 'push', events: events.slice(i, i + HUB_LIMITS.eventsPerPush) });
    expect((await b.next('ack')).ids).toHaveLength(HUB_LIMITS.eventsPerPush);
  }
  const status = await (await fetch(`${second.origin}/hub/status`, { headers: { Authorization: `Bearer ${second.secret}` } })).json();
  expect(status).toMatchObject({ head: events.length, entries: events.length });
  b.close();
  await killed(second.process);
});
