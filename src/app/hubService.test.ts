// Two devices and a real hub: createHub (server/hub) on a loopback port in a temp dir, each device a
// GallerySession on its own fake-indexeddb gallery and a HubService on its own hub database, talking to the
// hub through `ws` and Node's fetch, embedding with the real model on wasm.
import 'fake-indexeddb/auto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket as NodeWebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { personJpeg, toFile } from '../../e2e/fixtures/makeImages';
import { createHub, type Hub } from '../../server/hub/index';
import { syntheticAdd } from '../../server/hub/synthetic';
import { HubTestClient } from '../../server/hub/testClient';
import { createEngine, type Engine } from '../engine';
import { fileFetch, modelJsonUrl } from '../engine/node/fileFetch';
import { MODEL_DIR, modelAvailable, WASM_DIR, withModel } from '../engine/node/testModel';
import { openGalleryStore } from '../gallery';
import { bytesToBase64, type HubStatus } from '../hub/protocol';
import { EngineHost } from './engineHost';
import { GallerySession } from './gallerySession';
import { REFUSED_SECRET, UNREACHABLE } from './hubConnection';
import { HubService } from './hubService';
import { openHubStorage } from './hubStorage';
import { nodeCodec } from './node/nodeCodec';
import type { Notify } from './notify';

let dir: string;
let hub: Hub;
let server: Server;
let port = 0;
let origin: string;

async function startHub(): Promise<void> {
  hub = createHub({ dir });
  server = createServer((req, res) => {
    if (!hub.handleRequest(req, res)) res.writeHead(404).end();
  });
  server.on('upgrade', (req, socket, head) => {
    if (!hub.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
}

async function stopHub(): Promise<void> {
  hub.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function hubStatus(): Promise<HubStatus> {
  return (await fetch(`${origin}/hub/status`, { headers: { Authorization: `Bearer ${hub.secret}` } })).json() as Promise<HubStatus>;
}

async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Device {
  name: string;
  gallery: GallerySession;
  hub: HubService;
  messages: string[];
  /** The address the service rewrote the page to (the join fragment stripped). */
  replaced: string[];
}

let dbCount = 0;
const devices: Device[] = [];

/** A device (gallery + hub service) on databases `db`; `href` is the page it was opened at. */
async function device(host: EngineHost, db: string, href: string): Promise<Device> {
  const messages: string[] = [];
  const replaced: string[] = [];
  const notify: Notify = { error: (m) => messages.push(m), note: (m) => messages.push(m) };
  const gallery = new GallerySession({ storage: openGalleryStore(`${db}-gallery`), host, codec: nodeCodec, notify, download: () => undefined });
  await gallery.load();
  const service = new HubService({
    gallery,
    storage: openHubStorage(`${db}-hub`),
    notify,
    WebSocket: NodeWebSocket as unknown as typeof WebSocket,
    fetch,
    baseUrl: origin,
    page: { href: () => href, replace: (url) => void replaced.push(url) },
  });
  const d = { name: db, gallery, hub: service, messages, replaced };
  devices.push(d);
  return d;
}

const joinLink = () => `${origin}/#hub=${hub.secret}`;
const market = (name: string, shirt: [number, number, number]) => toFile(personJpeg({ name, shirt }));
const connected = (d: Device) => until(`${d.name} connected`, () => d.hub.state.connection === 'connected' && d.hub.state.counts.pending === 0);

describe.skipIf(!modelAvailable)(withModel('HubService with a real hub'), () => {
  const host = new EngineHost(
    (force, onProgress) =>
      createEngine({ modelUrl: modelJsonUrl(MODEL_DIR), fetch: fileFetch, wasmPaths: WASM_DIR, force: force ?? 'wasm', calibration: { warmupRuns: 1, runs: 2, measureFlip: false }, onProgress }),
    { error: () => undefined, note: () => undefined },
  );
  let engine: Engine;
  beforeAll(async () => {
    await host.start(undefined);
    engine = host.ready()!;
  });
  afterAll(() => engine?.dispose());

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hub-client-test-'));
    port = 0;
    await startHub();
  });
  afterEach(async () => {
    for (const d of devices.splice(0)) await d.hub.leave();
    await stopHub();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shares entries both ways: what A had before joining, added, renamed and deleted reaches B, searchable with the hub embeddings, thumbnails fetched afterwards', async () => {
    const db = `share-${++dbCount}`;
    const a = await device(host, `${db}-a`, joinLink());
    await a.gallery.addFiles([market('0002_c1s1_000451_03.jpg', [200, 40, 40])], '');
    expect(a.gallery.state.entries).toHaveLength(1);
    await a.hub.start();
    expect(a.replaced).toEqual([`${origin}/`]);
    await connected(a);
    expect(a.hub.state.cameraName).toBe(`Camera ${a.hub.state.deviceId.slice(0, 4)}`);
    expect((await hubStatus()).entries).toBe(1);

    await a.hub.setCameraName('  Front door ');
    await a.gallery.addFiles([market('0007_c3s1_000100_01.jpg', [40, 200, 40])], '');
    const [first, second] = a.gallery.state.entries;
    expect(second.cameraName).toBe('Front door');
    await until('the add acknowledged', () => a.hub.state.counts.pending === 0 && a.hub.state.counts.entries === 2);

    const b = await device(host, `${db}-b`, joinLink());
    // The state in which B first has both entries: searchable already, thumbnails not there yet.
    let firstWithBoth: readonly (Blob | null)[] | undefined;
    b.gallery.subscribe((state) => {
      if (state.entries.length === 2) firstWithBoth ??= state.entries.map((e) => e.thumbnail);
    });
    await b.hub.start();
    await connected(b);
    const got = await until('B has both entries', () => (b.gallery.state.entries.length === 2 ? b.gallery.state.entries : false));
    expect(got.map((e) => [e.id, e.identity, e.camera, e.modelId])).toEqual([first, second].map((e) => [e.id, e.identity, e.camera, e.modelId]));
    expect(got.map((e) => e.cameraName)).toEqual([`Camera ${a.hub.state.deviceId.slice(0, 4)}`, 'Front door']);
    expect(b.hub.state.counts).toMatchObject({ entries: 2, pending: 0 });
    // Same model: the hub's float16 embeddings, normalised again, are searched as they are.
    const hits = await b.gallery.search({ fused: second.embeddings.fused }, 2);
    expect(hits.fused?.map((m) => m.id)).toEqual([second.id, first.id]);
    expect(Math.abs(got[1].embeddings.fused[0] - second.embeddings.fused[0])).toBeLessThan(2e-3);
    // Thumbnails come after the entries, byte for byte A's.
    await until("B has the thumbnails", () => b.gallery.state.entries.every((e) => e.thumbnail !== null));
    expect(firstWithBoth).toEqual([null, null]);
    const bytes = async (blob: Blob | null) => [...new Uint8Array(await blob!.arrayBuffer())];
    expect(await bytes(b.gallery.state.entries[1].thumbnail)).toEqual(await bytes(second.thumbnail));

    await b.gallery.rename(first.id, 'alice');
    await until('A sees the rename', () => a.gallery.state.entries.find((e) => e.id === first.id)?.identity === 'alice');
    await a.gallery.remove(second.id);
    await until('B loses the deleted entry', () => b.gallery.state.entries.length === 1);
    expect(b.gallery.state.entries.map((e) => [e.id, e.identity])).toEqual([[first.id, 'alice']]);
    expect(b.hub.state.counts.entries).toBe(1);
    expect([...a.messages, ...b.messages]).toEqual([]);

    // B reloads: it resumes after the hub sequence number it stored, with nothing applied twice; even
    // re-applying everything (as after a crash before `since` was stored) duplicates nothing and keeps
    // the rename that won.
    await b.hub.leave();
    const headBefore = (await hubStatus()).head;
    await openHubStorage(`${db}-b-hub`).write({ since: 0 });
    const again = await device(host, `${db}-b`, joinLink());
    expect(again.gallery.state.entries.map((e) => [e.id, e.identity])).toEqual([[first.id, 'alice']]);
    await again.hub.start();
    await connected(again);
    await until('the replayed pages applied', () => again.hub.state.syncProgress === null);
    expect(again.gallery.state.entries.map((e) => [e.id, e.identity])).toEqual([[first.id, 'alice']]);
    expect(again.hub.state.counts.entries).toBe(1);
    expect((await hubStatus()).head).toBe(headBefore);
  });

  it('keeps what is added while the hub is down, and syncs it when the hub is back', async () => {
    const db = `offline-${++dbCount}`;
    const a = await device(host, `${db}-a`, joinLink());
    const b = await device(host, `${db}-b`, joinLink());
    await Promise.all([a.hub.start(), b.hub.start()]);
    await Promise.all([connected(a), connected(b)]);

    await stopHub();
    await until('A offline', () => a.hub.state.connection === 'offline');
    expect(a.hub.state.problem).toBe(UNREACHABLE);
    await a.gallery.addFiles([market('0011_c2s1_000100_01.jpg', [40, 40, 200])], '');
    await until('the add in the outbox', () => a.hub.state.counts.pending === 1);
    expect(a.hub.state.connection).toBe('offline');

    await startHub(); // same directory, same port: the same hub, back
    await until('B gets the offline add', () => b.gallery.state.entries.length === 1, 60_000);
    expect(b.gallery.state.entries[0].id).toBe(a.gallery.state.entries[0].id);
    // The hub sends B the event and A its ack at once; A leaves its outbox only after writing that down.
    await until("A's outbox empty", () => a.hub.state.counts.pending === 0);
    expect(a.hub.state.problem).toBeNull();
    expect((await hubStatus()).entries).toBe(1);
  });

  it('says the secret was refused, and stays offline', async () => {
    const d = await device(host, `refused-${++dbCount}`, `${origin}/#hub=${'0'.repeat(64)}`);
    await d.hub.start();
    await until('offline', () => d.hub.state.connection === 'offline');
    expect(d.hub.state.problem).toBe(REFUSED_SECRET);
  });

  it('re-embeds entries of another model from their fetched thumbnails, or says why it cannot', async () => {
    const d = await device(host, `foreign-${++dbCount}`, joinLink());
    const other = await HubTestClient.connect(origin, hub.secret);
    await other.next('welcome');
    other.send({ type: 'hello', device: 'other-device', since: 0 });
    const withThumb = syntheticAdd({ id: 'foreign-1', modelId: 'another-model', identity: 'bob' });
    withThumb.entry.thumbnail = bytesToBase64(personJpeg({ shirt: [90, 90, 200] }).bytes);
    const noThumb = syntheticAdd({ id: 'foreign-2', modelId: 'another-model', identity: 'carol' });
    delete noThumb.entry.thumbnail;
    other.send({ type: 'push', events: [withThumb, noThumb] });
    await other.next('ack');
    other.close();

    await d.hub.start();
    await connected(d);
    const reembedded = await until('the entry re-embedded', () => d.gallery.state.entries.find((e) => e.id === 'foreign-1' && e.modelId === engine.model.modelId));
    expect(reembedded.thumbnail).not.toBeNull();
    const hits = await d.gallery.search({ fused: reembedded.embeddings.fused }, 1);
    expect(hits.fused?.[0].id).toBe('foreign-1');
    await until('the message', () => d.messages.length > 0);
    expect(d.messages).toEqual([expect.stringMatching(/^foreign-2\.jpg \(carol\) was embedded by another model and cannot be re-embedded: the hub has no thumbnail for it/)]);
    expect(d.gallery.state.entries.find((e) => e.id === 'foreign-2')?.modelId).toBe('another-model');
  });

  it('shares sightings: the last seen prefers another camera', async () => {
    const db = `sightings-${++dbCount}`;
    const a = await device(host, `${db}-a`, joinLink());
    const b = await device(host, `${db}-b`, joinLink());
    await Promise.all([a.hub.start(), b.hub.start()]);
    await Promise.all([connected(a), connected(b)]);
    await a.hub.setCameraName('Front door');
    a.hub.recordSighting({ identity: '0002', entryId: 'e1', distance: 0.4 });
    await until('B has the sighting', () => b.hub.state.sightings.get('0002')?.length === 1);
    b.hub.recordSighting({ identity: '0002', entryId: 'e1', distance: 0.3 });
    await until('A has both', () => a.hub.state.sightings.get('0002')?.length === 2);
    expect(b.hub.lastSeen('0002')?.cameraName).toBe('Front door');
    expect(a.hub.lastSeen('0002')?.device).toBe(b.hub.state.deviceId);
    expect(b.hub.state.counts.sightings).toBe(2);
    expect((await hubStatus()).sightings).toBe(2);

    // An event the hub refuses leaves the outbox, and the hub's reason is told once.
    a.hub.recordSighting({ identity: '0002', entryId: 'not an id!', distance: 0.2 });
    await until('the refusal told', () => a.messages.length > 0);
    await until('the outbox empty', () => a.hub.state.counts.pending === 0);
    expect(a.messages).toEqual([expect.stringMatching(/^The hub refused a sighting of 0002: event refused: entryId: only letters, digits, - and _/)]);
    expect((await hubStatus()).sightings).toBe(2);
  });
});
