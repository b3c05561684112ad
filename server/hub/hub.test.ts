// The hub on a real loopback port, in a temp dir, with real `ws` clients and real HTTP requests.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bytesToBase64, encodeEmbedding, HUB_LIMITS, HUB_SUBPROTOCOL, type HubStatus, type SearchResponse } from '../../src/hub/protocol.ts';
import { createHub, type Hub } from './index.ts';
import { openSqliteHubStore } from './store.ts';
import { fakeJpeg, randomUnitVector, seededRandom, syntheticAdd } from './synthetic.ts';
import { HubTestClient } from './testClient.ts';

let dir: string;
let hub: Hub;
let server: Server;
let origin: string;
const clients: HubTestClient[] = [];

async function startHub(heartbeatMs?: number) {
  hub = createHub({ dir, heartbeatMs });
  server = createServer((req, res) => {
    if (!hub.handleRequest(req, res)) res.writeHead(200).end('app');
  });
  server.on('upgrade', (req, socket, head) => {
    if (!hub.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function stopHub() {
  for (const c of clients.splice(0)) c.close();
  hub.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function connect(): Promise<HubTestClient> {
  const client = await HubTestClient.connect(origin, hub.secret);
  clients.push(client);
  return client;
}

const auth = () => ({ Authorization: `Bearer ${hub.secret}` });

async function status(): Promise<HubStatus> {
  return (await fetch(`${origin}/hub/status`, { headers: auth() })).json() as Promise<HubStatus>;
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hub-test-'));
  await startHub();
});

afterEach(async () => {
  await stopHub();
  rmSync(dir, { recursive: true, force: true });
});

describe('the secret', () => {
  it('answers 401 to every /hub/ path without it or with a wrong one, and 404 to unknown paths with it', async () => {
    for (const path of ['/hub/status', '/hub/thumbnails/x', '/hub/search', '/hub/nothing-here', '/hub/sync']) {
      expect((await fetch(`${origin}${path}`)).status, path).toBe(401);
      expect((await fetch(`${origin}${path}`, { headers: { Authorization: `Bearer ${'0'.repeat(64)}` } })).status, path).toBe(401);
      expect((await fetch(`${origin}${path}`, { headers: { Authorization: hub.secret } })).status, path).toBe(401);
    }
    const unknown = await fetch(`${origin}/hub/nothing-here`, { headers: auth() });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('cache-control')).toBe('no-store');
    expect((await fetch(`${origin}/`)).status).toBe(200); // the app itself needs no secret
  });

  it('refuses the WebSocket upgrade with 401 when the secret is missing or wrong', async () => {
    await expect(HubTestClient.open(origin, [HUB_SUBPROTOCOL])).rejects.toThrow('HTTP 401');
    await expect(HubTestClient.open(origin, [HUB_SUBPROTOCOL, `secret.${'f'.repeat(64)}`])).rejects.toThrow('HTTP 401');
    await expect(HubTestClient.open(origin, [HUB_SUBPROTOCOL, `secret.${hub.secret.slice(1)}`])).rejects.toThrow('HTTP 401');
    const ok = await connect();
    expect(ok.ws.protocol).toBe(HUB_SUBPROTOCOL);
    expect((await ok.next('welcome')).hubId).toBe(hub.hubId);
  });

  it('keeps the same secret and hub id across restarts of the same dir', async () => {
    const { secret, hubId } = hub;
    await stopHub();
    await startHub();
    expect([hub.secret, hub.hubId]).toEqual([secret, hubId]);
  });
});

describe('sync', () => {
  it('acknowledges a push once stored and sends it live to another caught-up device, without the thumbnail', async () => {
    const a = await connect();
    const b = await connect();
    await a.sync('device-a', 0);
    await b.sync('device-b', 0);
    const add = syntheticAdd({ id: 'e1', random: seededRandom(1) });
    a.send({ type: 'push', events: [add] });
    expect(await a.next('ack')).toEqual({ type: 'ack', ids: [add.id] });
    const live = await b.next('events');
    expect(live.events).toHaveLength(1);
    const { thumbnail: _thumbnail, ...entry } = add.entry;
    expect(live.events[0]).toEqual({ ...add, entry, seq: 1 });
    expect(live.head).toBe(1);
    const thumb = await fetch(`${origin}/hub/thumbnails/e1`, { headers: auth() });
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');
    expect(thumb.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    expect(bytesToBase64(new Uint8Array(await thumb.arrayBuffer()))).toBe(add.entry.thumbnail);
  });

  it('resumes from since in pages, and a replayed push is acknowledged but not stored twice', async () => {
    const a = await connect();
    await a.sync('device-a', 0);
    const random = seededRandom(2);
    const events = Array.from({ length: HUB_LIMITS.eventsPerPage + 20 }, (_, i) => syntheticAdd({ id: `p${i}`, random }));
    for (let i = 0; i < events.length; i += HUB_LIMITS.eventsPerPush) {
      a.send({ type: 'push', events: events.slice(i, i + HUB_LIMITS.eventsPerPush) });
      await a.next('ack');
    }
    const b = await connect();
    b.send({ type: 'hello', device: 'device-b', since: 10 });
    const first = await b.next('events');
    expect(first.events).toHaveLength(HUB_LIMITS.eventsPerPage);
    expect(first.events[0].seq).toBe(11);
    const second = await b.next('events');
    expect(second.events.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => HUB_LIMITS.eventsPerPage + 11 + i));
    expect(second.head).toBe(events.length);

    a.send({ type: 'push', events: events.slice(0, 3) });
    expect((await a.next('ack')).ids).toEqual(events.slice(0, 3).map((e) => e.id));
    expect((await status()).head).toBe(events.length);
    expect((await status()).entries).toBe(events.length);
  });

  it('applies renames and deletes: the later rename wins, a delete hides the entry from status, thumbnails and search', async () => {
    const a = await connect();
    await a.sync('device-a', 0);
    const random = seededRandom(3);
    const query = randomUnitVector(128, random);
    const near = syntheticAdd({ id: 'near', random, embeddings: { fused: encodeEmbedding(query) } });
    const far = syntheticAdd({ id: 'far', random, embeddings: { fused: encodeEmbedding(randomUnitVector(128, random)) } });
    const search = async () => {
      const res = await fetch(`${origin}/hub/search`, {
        method: 'POST',
        headers: { ...auth(), 'Content-Type': 'application/json' },
        body: JSON.stringify({ modelId: 'dare-osnet', stage: 'fused', embedding: encodeEmbedding(query), k: 5 }),
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as SearchResponse).matches;
    };
    a.send({ type: 'push', events: [near, far] });
    await a.next('ack');
    const before = await search();
    expect(before.map((m) => m.entryId)).toEqual(['near', 'far']);
    expect(before[0].distance).toBeLessThan(0.01);
    a.send({
      type: 'push',
      events: [
        { kind: 'rename', id: 'r2', device: 'device-a', at: near.at + 20, entryId: 'near', identity: 'Bob' },
        { kind: 'rename', id: 'r1', device: 'device-b', at: near.at + 10, entryId: 'near', identity: 'Alice' },
        { kind: 'delete', id: 'd1', device: 'device-b', at: near.at + 30, entryId: 'far' },
      ],
    });
    await a.next('ack');
    expect(await search()).toEqual([{ entryId: 'near', identity: 'Bob', distance: before[0].distance }]);
    expect(await status()).toMatchObject({ entries: 1, deleted: 1, head: 5 });
    expect((await fetch(`${origin}/hub/thumbnails/far`, { headers: auth() })).status).toBe(404);
  });

  it('refuses each malformed message with a clear error and stores nothing', async () => {
    const a = await connect();
    await a.next('welcome');
    a.send({ type: 'push', events: [syntheticAdd({ id: 'early' })] });
    expect((await a.next('error')).message).toMatch(/hello before push/);
    await a.sync('device-a', 0);
    const good = syntheticAdd({ id: 'good', random: seededRandom(4) });
    a.send({ type: 'push', events: [good] });
    await a.next('ack');
    const before = await status();

    const random = seededRandom(5);
    const nanEmbedding = bytesToBase64(new Uint8Array(256).fill(0xff)); // 0xffff is a float16 NaN
    const cases: [unknown, RegExp][] = [
      ['not json', /not JSON/],
      [{ type: 'shout' }, /type/],
      [{ type: 'hello', device: 'device-a', since: 0 }, /hello was sent before/],
      [{ type: 'push', events: [] }, /events/],
      [{ type: 'push', events: [good], extra: 1 }, /extra|Unrecognized/i],
      [{ type: 'push', events: Array(HUB_LIMITS.eventsPerPush + 1).fill(good) }, /events/],
      [{ type: 'push', events: [{ ...syntheticAdd({ id: 'x1', random }), colour: 'red' }] }, /colour|Unrecognized/i],
      [{ type: 'push', events: [syntheticAdd({ id: 'x2', random, dim: 64 })] }, /dim: 64 differs from the 128/],
      [{ type: 'push', events: [syntheticAdd({ id: 'x3', random, embeddings: { fused: nanEmbedding } })] }, /NaN/],
      [{ type: 'push', events: [syntheticAdd({ id: 'x4', random, embeddings: { fused: encodeEmbedding(new Float32Array(128).fill(0.5)) } })] }, /not L2-normalised/],
      [{ type: 'push', events: [syntheticAdd({ id: 'x5', random, embeddings: { fused: encodeEmbedding(randomUnitVector(127, random)) } })] }, /127 values, expected 128/],
      [{ type: 'push', events: [syntheticAdd({ id: 'x6', random, thumbnail: bytesToBase64(fakeJpeg(HUB_LIMITS.thumbnailBytes + 1, random)) })] }, /thumbnail/],
      [{ type: 'push', events: [syntheticAdd({ id: 'x7', random, thumbnail: bytesToBase64(new Uint8Array([1, 2, 3, 4])) })] }, /not a JPEG/],
      [{ type: 'push', events: [{ ...syntheticAdd({ id: 'x8', random }), id: 'bad id!' }] }, /id/],
      [{ type: 'push', events: [{ ...syntheticAdd({ id: 'good', random }), id: 'another-add-of-good' }] }, /added before by event add-good/],
      [{ type: 'push', events: [{ kind: 'rename', id: 'r', device: 'device-a', at: 1, entryId: 'good', identity: '   ' }] }, /empty/],
      [{ type: 'push', events: [{ kind: 'sighting', id: 's', device: 'device-a', at: 1, entryId: 'good', identity: 'A', cameraName: 'Door', distance: NaN }] }, /distance/],
    ];
    for (const [message, expected] of cases) {
      a.send(message);
      const error = await a.next('error');
      expect(error.message, JSON.stringify(message).slice(0, 120)).toMatch(expected);
    }
    a.ws.send(Buffer.from('{}'), { binary: true });
    expect((await a.next('error')).message).toMatch(/binary/);
    expect(a.pending().filter((m) => m.type === 'ack')).toEqual([]);
    expect(await status()).toEqual(before);

    // Larger than the message limit: ws closes the socket with 1009 before anything is parsed.
    a.send('x'.repeat(HUB_LIMITS.messageBytes + 1));
    await expect(a.next('ack')).rejects.toThrow('socket closed (1009)');
    expect(await status()).toEqual(before);
  });

  it('stores the valid events of a push and refuses the others by id', async () => {
    const a = await connect();
    await a.sync('device-a', 0);
    const ok = syntheticAdd({ id: 'ok', random: seededRandom(6) });
    const bad = syntheticAdd({ id: 'bad', random: seededRandom(7), dim: 3000 });
    a.send({ type: 'push', events: [ok, bad] });
    const error = await a.next('error');
    expect(error.eventId).toBe(bad.id);
    expect(error.message).toMatch(/dim/);
    expect((await a.next('ack')).ids).toEqual([ok.id]);
  });
});

describe('search', () => {
  it('refuses bad bodies with 400 and oversized ones with 413', async () => {
    const post = (body: string) => fetch(`${origin}/hub/search`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body });
    const a = await connect();
    await a.sync('device-a', 0);
    a.send({ type: 'push', events: [syntheticAdd({ id: 'e', random: seededRandom(8) })] });
    await a.next('ack');
    const embedding = encodeEmbedding(randomUnitVector(128, seededRandom(9)));
    expect((await post('{')).status).toBe(400);
    expect((await post(JSON.stringify({ modelId: 'dare-osnet', stage: 'fused', embedding, k: 0 }))).status).toBe(400);
    expect((await post(JSON.stringify({ modelId: 'dare-osnet', stage: 'fused', embedding, k: 1, more: 1 }))).status).toBe(400);
    const wrongDim = await post(JSON.stringify({ modelId: 'dare-osnet', stage: 'fused', embedding: encodeEmbedding(randomUnitVector(64, seededRandom(1))), k: 1 }));
    expect(wrongDim.status).toBe(400);
    expect(((await wrongDim.json()) as { error: string }).error).toMatch(/64 values, expected 128/);
    expect((await post('x'.repeat(70 * 1024))).status).toBe(413);
    expect(await (await post(JSON.stringify({ modelId: 'other-model', stage: 'fused', embedding, k: 1 }))).json()).toEqual({ matches: [] });
  });
});

describe('the database', () => {
  it('survives a close and reopen: the same events, entries and counts', async () => {
    const a = await connect();
    await a.sync('device-a', 0);
    const random = seededRandom(10);
    const events = [
      syntheticAdd({ id: 'k1', random }),
      syntheticAdd({ id: 'k2', random }),
      { kind: 'delete', id: 'd', device: 'device-a', at: 5, entryId: 'k2' },
      { kind: 'sighting', id: 's', device: 'device-a', at: 6, entryId: 'k1', identity: 'person k1', cameraName: 'Hall', distance: 0.4 },
    ];
    a.send({ type: 'push', events });
    await a.next('ack');
    const before = await status();
    const b = await connect();
    const { events: log } = await b.sync('device-b', 0);
    await stopHub();

    const store = openSqliteHubStore(join(dir, 'hub.sqlite'));
    expect(store.eventsSince(0, 100)).toEqual(log);
    store.close();
    await startHub();
    expect(await status()).toEqual(before);
    expect(before).toMatchObject({ head: 4, entries: 1, deleted: 1, sightings: 1 });
    const c = await connect();
    expect((await c.sync('device-c', 0)).events).toEqual(log);
  });
});

describe('the heartbeat', () => {
  it('heartbeats every socket, keeps those that answer its pings and drops one that answers nothing', async () => {
    await stopHub();
    await startHub(50);
    const answering = await connect();
    const vanished = await HubTestClient.connect(origin, hub.secret, { answerPings: false });
    clients.push(vanished);
    await answering.next('welcome');
    await vanished.next('welcome');
    await answering.next('heartbeat', 1000);
    // Two heartbeats without a pong or a message: the hub terminates the socket (no close frame: 1006).
    const t0 = Date.now();
    while (vanished.closeCode === undefined && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
    expect(vanished.closeCode).toBe(1006);
    await new Promise((r) => setTimeout(r, 300));
    expect(answering.closeCode).toBeUndefined();
    expect((await answering.sync('device-a', 0)).head).toBe(0); // still a working session
  });

  it('counts a message as a sign of life, pongs or not', async () => {
    await stopHub();
    await startHub(50);
    const talking = await HubTestClient.connect(origin, hub.secret, { answerPings: false });
    clients.push(talking);
    await talking.next('welcome');
    talking.send({ type: 'hello', device: 'device-t', since: 0 });
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 30));
      talking.send({ type: 'hello', device: 'device-t', since: 0 }); // refused (hello twice), but heard
    }
    expect(talking.closeCode).toBeUndefined();
  });
});
