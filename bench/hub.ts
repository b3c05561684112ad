// `npm run bench:hub`: the hub's scale figures on synthetic entries (docs/benchmarks.md, docs/scale.md).
//   npm run bench:hub -- --sizes 100000,1000000 --ws 5000 --queries 50
// Each entry: 128-d, 5 stages (1, 2, 3, 4, fused), float16, and a 2 KB stand-in JPEG thumbnail (a real
// 256×128 thumbnail is ~10 KB: scale the thumbnail bytes by 5 for those). Measures, per size: ingest rate
// through HubStore.append (batches of 100, validation excluded), disk bytes (db + wal), the time to reopen
// (rebuilding the merge view from the log), hub-side search latency on the fused stage (after the first,
// loading search). Once: ingest through the WebSocket (validation included) and a new device's catch-up on
// the first size. Everything lives in a temp dir, deleted at the end.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { bytesToBase64, encodeEmbedding, HUB_LIMITS, type HubEvent } from '../src/hub/protocol.ts';
import { createHub } from '../server/hub/index.ts';
import { openSqliteHubStore } from '../server/hub/store.ts';
import { fakeJpeg, randomUnitVector, seededRandom, STAGES, syntheticAdd } from '../server/hub/synthetic.ts';
import { HubTestClient } from '../server/hub/testClient.ts';
import { VectorIndex } from '../server/hub/vectorIndex.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    ws: { type: 'string', default: '5000' },
    queries: { type: 'string', default: '50' },
  },
});
const SIZES = values.sizes.split(',').map(Number);
const WS_COUNT = Number(values.ws);
const QUERIES = Number(values.queries);
const DIM = 128;
const THUMBNAIL_BYTES = 2048;
const BATCH = 100;
const MODEL = 'dare-osnet';

const random = seededRandom(7);
// Encoding a float16 vector costs ~0.2 ms in JS, too slow for millions: entries are made from a pool of
// encoded unit vectors, and each fused embedding from a pool vector with every sign flipped at random (a
// sign flip keeps it a unit vector and is one bit of float16), so every fused embedding is distinct.
const POOL = Array.from({ length: 1024 }, () => {
  const halfs = new Uint8Array(DIM * 2);
  const base64 = encodeEmbedding(randomUnitVector(DIM, random));
  halfs.set(Buffer.from(base64, 'base64'));
  return { base64, halfs };
});
const THUMBNAILS = Array.from({ length: 64 }, () => bytesToBase64(fakeJpeg(THUMBNAIL_BYTES, random)));
const pick = <T>(items: readonly T[]) => items[(random() * items.length) | 0];

function fusedEmbedding(): string {
  const out = pick(POOL).halfs.slice();
  for (let i = 0; i < DIM; i += 16) {
    const signs = (random() * 65536) | 0;
    for (let j = 0; j < 16; j++) if (signs & (1 << j)) out[2 * (i + j) + 1] ^= 0x80;
  }
  return bytesToBase64(out);
}

function entryEvent(n: number): HubEvent {
  const embeddings: Record<string, string> = {};
  for (const s of STAGES) embeddings[s] = s === 'fused' ? fusedEmbedding() : pick(POOL).base64;
  return syntheticAdd({ id: `e${n}`, device: `device-${n % 7}`, identity: `person ${n % 5000}`, at: 1_700_000_000_000 + n, embeddings, thumbnail: pick(THUMBNAILS), modelId: MODEL });
}

const ms = (t0: number) => performance.now() - t0;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const fileBytes = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

function tableBytes(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare<[], { name: string; bytes: number }>('SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC').all();
    return Object.fromEntries(rows.map((r) => [r.name, r.bytes]));
  } catch {
    return {}; // a SQLite built without dbstat
  } finally {
    db.close();
  }
}

async function benchSize(size: number, root: string, report: string[]) {
  const dir = join(root, `hub-${size}`);
  const hubFile = join(dir, 'hub.sqlite');
  const hub = createHub({ dir }); // makes the secret too, for the catch-up below
  hub.close();
  const store = openSqliteHubStore(hubFile);
  let appendMs = 0;
  const t0 = performance.now();
  for (let n = 0; n < size; n += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, size - n) }, (_, i) => entryEvent(n + i));
    const t = performance.now();
    store.append(batch);
    appendMs += ms(t);
    if ((n / BATCH) % 1000 === 0 && n) process.stdout.write(`  ${size}: ${n} entries, ${(n / (appendMs / 1000)).toFixed(0)}/s through append\r`);
  }
  const wallMs = ms(t0);
  const ingest = `${(size / (appendMs / 1000)).toFixed(0)} entries/s through append (${(appendMs / 1000).toFixed(1)} s; ${(wallMs / 1000).toFixed(1)} s with generation)`;
  const db = fileBytes(hubFile);
  const wal = fileBytes(`${hubFile}-wal`);
  store.close(); // checkpoints the WAL into the db and removes it
  const closedDb = fileBytes(hubFile);
  const tables = tableBytes(hubFile);

  const tOpen = performance.now();
  const reopened = openSqliteHubStore(hubFile);
  const openMs = ms(tOpen);
  const heapAfterOpen = process.memoryUsage().heapUsed;
  const index = new VectorIndex(reopened);
  const query = () => randomUnitVector(DIM, random);
  const tLoad = performance.now();
  index.search(MODEL, 'fused', DIM, query(), 10);
  const loadMs = ms(tLoad);
  const times: number[] = [];
  for (let q = 0; q < QUERIES; q++) {
    const v = query();
    const t = performance.now();
    index.search(MODEL, 'fused', DIM, v, 10);
    times.push(ms(t));
  }
  times.sort((a, b) => a - b);
  reopened.close();

  report.push(
    `## ${size.toLocaleString('en')} entries`,
    `ingest: ${ingest}`,
    `disk, running: ${mib(db + wal)} (db ${mib(db)} + wal ${mib(wal)}); closed: ${mib(closedDb)}, of which ${Object.entries(tables)
      .filter(([, v]) => v >= 2 ** 20)
      .map(([k, v]) => `${k} ${mib(v)}`)
      .join(', ')}`,
    `reopen (merge view rebuilt from the log): ${(openMs / 1000).toFixed(1)} s, JS heap after it ${mib(heapAfterOpen)}`,
    `search, fused, k=10: first (loads ${size.toLocaleString('en')} rows) ${loadMs.toFixed(0)} ms; then median ${quantile(times, 0.5).toFixed(1)} ms, p95 ${quantile(times, 0.95).toFixed(1)} ms over ${QUERIES} queries`,
  );
  console.log(report.slice(-5).join('\n'));
  return dir;
}

/** A hub on a loopback port over `dir`. */
async function serveHub(dir: string) {
  const hub = createHub({ dir });
  const server = createServer((req, res) => {
    if (!hub.handleRequest(req, res)) res.writeHead(404).end();
  });
  server.on('upgrade', (req, socket, head) => {
    if (!hub.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    hub,
    origin,
    close: async () => {
      hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function benchWebSocketIngest(root: string, report: string[]) {
  const served = await serveHub(join(root, 'hub-ws'));
  const client = await HubTestClient.connect(served.origin, served.hub.secret);
  await client.sync('bench-device', 0);
  const t0 = performance.now();
  for (let n = 0; n < WS_COUNT; n += HUB_LIMITS.eventsPerPush) {
    client.send({ type: 'push', events: Array.from({ length: Math.min(HUB_LIMITS.eventsPerPush, WS_COUNT - n) }, (_, i) => entryEvent(n + i)) });
    await client.next('ack', 60_000);
  }
  const wsMs = ms(t0);
  client.close();
  await served.close();
  report.push(`WebSocket ingest (one device, push of 100 → ack, then the next; parseEvent included): ${(WS_COUNT / (wsMs / 1000)).toFixed(0)} entries/s over ${WS_COUNT} entries`);
  console.log(report.at(-1));
}

async function benchCatchUp(dir: string, size: number, report: string[]) {
  const tOpen = performance.now();
  const served = await serveHub(dir);
  const openMs = ms(tOpen);
  const t0 = performance.now();
  const client = await HubTestClient.connect(served.origin, served.hub.secret);
  client.send({ type: 'hello', device: 'new-device', since: 0 });
  let firstPageMs = 0;
  let received = 0;
  for (;;) {
    const page = await client.next('events', 120_000);
    if (!firstPageMs) firstPageMs = ms(t0);
    received += page.events.length;
    if ((page.events.at(-1)?.seq ?? 0) >= page.head) break;
  }
  const fullMs = ms(t0);
  const bytes = client.bytesReceived;
  client.close();
  await served.close();
  report.push(
    `catch-up of a new device on the ${size.toLocaleString('en')}-entry hub over the WebSocket (hub opened in ${(openMs / 1000).toFixed(1)} s first): first page of ${HUB_LIMITS.eventsPerPage} after ${firstPageMs.toFixed(0)} ms, all ${received.toLocaleString('en')} events after ${(fullMs / 1000).toFixed(1)} s (${mib(bytes)} of JSON, thumbnails excluded)`,
  );
  console.log(report.at(-1));
}

async function main() {
  const root = mkdtempSync(join(tmpdir(), 'bench-hub-'));
  const report: string[] = [];
  try {
    await benchWebSocketIngest(root, report);
    for (const [i, size] of SIZES.entries()) {
      const dir = await benchSize(size, root, report);
      if (i === 0) await benchCatchUp(dir, size, report);
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  console.log(`\n# bench:hub (${DIM}-d, ${STAGES.length} stages float16, ${THUMBNAIL_BYTES} B thumbnails)\n${report.join('\n')}`);
}

await main();
