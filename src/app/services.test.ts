// The services in Node, through real parts: the real model on wasm, IndexedDB (fake-indexeddb), the
// gallery's real storage and export code, a jpeg-js image codec. No zustand, no React.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { personJpeg, textAsJpeg, toFile } from '../../e2e/fixtures/makeImages';
import { createEngine, createReranker, type Engine } from '../engine';
import { serveReranking } from '../engine/rerank/host';
import type { MessageEndpoint } from '../engine/rerank/protocol';
import { fileFetch, modelJsonUrl } from '../engine/node/fileFetch';
import { MODEL_DIR, MODEL_INPUT, modelAvailable, noiseImage, WASM_DIR, withModel } from '../engine/node/testModel';
import { openGalleryStore } from '../gallery';
import { makeEntry as storedEntry } from '../gallery/node/testEntries';
import { EngineHost, type EngineFactory } from './engineHost';
import { GallerySession } from './gallerySession';
import { nodeCodec } from './node/nodeCodec';
import type { Notify } from './notify';
import { QueryService, type QuerySettings } from './queryService';
import { WebcamService } from './webcamService';

const messages: { level: 'error' | 'note'; message: string }[] = [];
const notify: Notify = { error: (message) => messages.push({ level: 'error', message }), note: (message) => messages.push({ level: 'note', message }) };
const errors = () => messages.filter((m) => m.level === 'error').map((m) => m.message);

const engineFrom = (dir: string): EngineFactory => (force, onProgress) =>
  createEngine({ modelUrl: modelJsonUrl(dir), fetch: fileFetch, wasmPaths: WASM_DIR, force: force ?? 'wasm', calibration: { warmupRuns: 1, runs: 2, measureFlip: false }, onProgress });

let dbCount = 0;
function newSession(host: EngineHost, dbName = `services-test-${++dbCount}`): GallerySession {
  return new GallerySession({ storage: openGalleryStore(dbName), host, codec: nodeCodec, notify, download: () => undefined });
}

const market = (name: string, shirt: [number, number, number]) => toFile(personJpeg({ name, shirt }));

beforeEach(() => {
  messages.length = 0;
});

describe.skipIf(!modelAvailable)(withModel('EngineHost'), () => {
  it('attaches services to a new engine before it says ready, and detaches the old one before disposing it', async () => {
    const host = new EngineHost(engineFrom(MODEL_DIR), notify);
    const events: { what: string; engine: Engine; status: string }[] = [];
    host.onChange({
      detach: async (engine) => void events.push({ what: 'detach', engine, status: host.state.status }),
      attach: async (engine) => void events.push({ what: 'attach', engine, status: host.state.status }),
    });
    await host.start(undefined);
    const first = host.ready();
    expect(host.state.status).toBe('ready');
    expect(first?.backend.active).toBe('wasm');
    await host.start('wasm');
    const second = host.ready();
    expect(second).not.toBe(first);
    expect(events.map((e) => [e.what, e.engine, e.status])).toEqual([
      ['attach', first, 'loading'],
      ['detach', first, 'loading'],
      ['attach', second, 'loading'],
    ]);
    await second?.dispose();
  });

  it('reports a model that cannot be loaded, and whenReady answers null', async () => {
    const host = new EngineHost(engineFrom(`${MODEL_DIR}-missing`), notify);
    await host.start(undefined);
    expect(host.state.status).toBe('error');
    expect(host.state.error).toMatch(/^The model could not be loaded: .*404 not found.*Check the connection/);
    expect(errors()).toEqual([host.state.error]);
    expect(await host.whenReady()).toBeNull();
  });
});

describe.skipIf(!modelAvailable)(withModel('GallerySession and QueryService'), () => {
  const host = new EngineHost(engineFrom(MODEL_DIR), notify);
  let engine: Engine;
  beforeAll(async () => {
    await host.start(undefined);
    engine = host.ready()!;
  });
  afterAll(() => engine?.dispose());

  it('adds uploads under their Market-1501 identity, refuses a non-image by name, and keeps them across a reload', async () => {
    const session = newSession(host, 'gallery-reload');
    await session.load();
    await session.addFiles([market('0002_c1s1_000451_03.jpg', [200, 40, 40]), toFile(textAsJpeg()), market('0007_c3s1_000100_01.jpg', [40, 200, 40])], '');
    const { entries, unsaved, job } = session.state;
    expect(entries.map((e) => [e.identity, e.camera, e.fileName])).toEqual([
      ['0002', 1, '0002_c1s1_000451_03.jpg'],
      ['0007', 3, '0007_c3s1_000100_01.jpg'],
    ]);
    expect(entries.every((e) => e.modelId === engine.model.modelId && engine.model.layout.keys.every((k) => e.embeddings[k].length > 0))).toBe(true);
    expect(unsaved.size).toBe(0);
    expect(job).toBeNull();
    expect(errors()).toHaveLength(1);
    expect(errors()[0]).toMatch(new RegExp(`^Not added to the gallery: "${textAsJpeg().name}" is not an image`));

    const hits = await session.search({ fused: entries[1].embeddings.fused }, 2);
    expect(hits.fused?.map((m) => m.id)).toEqual([entries[1].id, entries[0].id]);

    const reloaded = newSession(host, 'gallery-reload');
    await reloaded.load();
    expect(reloaded.state.entries.map((e) => e.id)).toEqual(entries.map((e) => e.id));
    expect((await reloaded.search({ '2': entries[0].embeddings['2'] }, 1))['2']?.[0].id).toBe(entries[0].id);
  });

  it('types an identity over the file name, and says what to do when there is none', async () => {
    const session = newSession(host);
    await session.addFiles([toFile(personJpeg({ name: 'holiday.jpg' }))], '');
    expect(session.state.entries).toEqual([]);
    expect(errors()[0]).toMatch(/"holiday\.jpg": its name follows no known naming rule .* Type an identity/);
    await session.addFiles([toFile(personJpeg({ name: 'holiday.jpg' }))], '  carol ');
    expect(session.state.entries.map((e) => [e.identity, e.camera])).toEqual([['carol', null]]);
  });

  it('enrolls webcam crops with the same entry builder, and serves one gallery view per version', async () => {
    const storage = openGalleryStore('gallery-enroll');
    const session = new GallerySession({ storage, host, codec: nodeCodec, notify, download: () => undefined });
    await session.load();
    const before = session.view();
    expect(session.view()).toBe(before);
    expect(before.size).toBe(0);

    const crops = [noiseImage(MODEL_INPUT.width, MODEL_INPUT.height, 3), noiseImage(MODEL_INPUT.width, MODEL_INPUT.height, 4)];
    await session.enroll('alice', crops);
    const entries = session.state.entries;
    expect(entries.map((e) => [e.identity, e.camera, e.modelId])).toEqual([
      ['alice', null, engine.model.modelId],
      ['alice', null, engine.model.modelId],
    ]);
    expect(entries[1].fileName).toMatch(/^webcam-alice-.+-2\.jpg$/);
    expect(entries[0].thumbnail!.type).toBe('image/jpeg');

    const view = session.view();
    expect(view).not.toBe(before);
    expect(view.size).toBe(2);
    const [best] = await view.search('fused', entries[1].embeddings.fused, 1);
    expect(best.id).toBe(entries[1].id);
    expect(view.identityOf(best.id)).toBe('alice');
    expect((await storage.load()).entries.map((e) => e.id)).toEqual(entries.map((e) => e.id));
  });

  it('re-embeds, from their thumbnails, entries another model produced, and saves them', async () => {
    const storage = openGalleryStore('gallery-stale');
    const stale = storedEntry(1, { modelId: 'models/older/model.json#0011' });
    await storage.addMany([stale]);
    const session = new GallerySession({ storage, host, codec: nodeCodec, notify, download: () => undefined });
    await session.load();
    const [entry] = session.state.entries;
    expect(entry.id).toBe(stale.id);
    expect(entry.modelId).toBe(engine.model.modelId);
    expect([...entry.embeddings.fused]).not.toEqual([...stale.embeddings.fused]);
    const pixels = await nodeCodec.readThumbnail(stale.thumbnail!, engine.model.meta.input);
    expect([...entry.embeddings.fused]).toEqual([...(await engine.runner.embedAll(pixels)).fused]);
    expect((await storage.load()).entries[0].modelId).toBe(engine.model.modelId);
    expect((await session.search({ fused: entry.embeddings.fused }, 1)).fused?.[0].id).toBe(entry.id);
  });

  it('searches with one embed: the per-stage view reuses the budgeted run and completes only what it lacks', async () => {
    const gallery = newSession(host);
    await gallery.addFiles([market('0002_c1s1_000451_03.jpg', [200, 40, 40]), market('0007_c3s1_000100_01.jpg', [40, 200, 40])], '');
    const settings: QuerySettings = { budgetMs: 0, flip: false, topK: 5, rerank: false };
    const query = new QueryService({ host, gallery, codec: nodeCodec, notify, settings: () => settings });
    const embed = vi.spyOn(engine.runner, 'embed');
    const embedAll = vi.spyOn(engine.runner, 'embedAll');
    try {
      await query.search(market('0007_c5s2_000300_02.jpg', [40, 200, 40]));
      const shallow = query.state.outcome!;
      expect(query.state.status).toBe('done');
      expect(shallow.run.stage).toBe(1);
      expect(Object.keys(shallow.perStage).sort()).toEqual([...engine.model.layout.keys].sort());
      expect(shallow.layout).toBe(engine.model.layout);
      expect(shallow.matches).toEqual(shallow.perStage['1']);
      // The query is the second gallery image's twin: its completed embeddings find it at every stage.
      const twin = gallery.state.entries[1].id;
      for (const key of engine.model.layout.keys) expect(shallow.perStage[key]?.[0]).toMatchObject({ id: twin });
      expect(shallow.perStage.fused?.[0].distance).toBeLessThan(1e-3);

      settings.budgetMs = Infinity;
      await query.rerun();
      const deep = query.state.outcome!;
      expect(deep.run.stage).toBe('fused');
      expect(deep.matches).toEqual(deep.perStage.fused);
      expect(embed).toHaveBeenCalledTimes(2);
      expect(embedAll).not.toHaveBeenCalled();
    } finally {
      embed.mockRestore();
      embedAll.mockRestore();
    }
  });

  it('re-ranks the budgeted matches in the re-ranking worker when asked, and says so', async () => {
    const gallery = newSession(host);
    await gallery.addFiles(
      [
        market('0002_c1s1_000451_03.jpg', [200, 40, 40]),
        market('0002_c2s1_000500_01.jpg', [190, 50, 45]),
        market('0007_c3s1_000100_01.jpg', [40, 200, 40]),
        market('0009_c4s1_000200_01.jpg', [40, 40, 200]),
      ],
      '',
    );
    const settings: QuerySettings = { budgetMs: Infinity, flip: false, topK: 4, rerank: true };
    const channel = new MessageChannel();
    serveReranking(channel.port1 as unknown as MessageEndpoint);
    const reranker = createReranker({ endpoint: channel.port2 as unknown as MessageEndpoint });
    const query = new QueryService({ host, gallery, codec: nodeCodec, notify, settings: () => settings, reranker });
    try {
      await query.search(market('0002_c5s2_000300_02.jpg', [200, 40, 40]));
      const outcome = query.state.outcome!;
      expect(outcome.rerank).toMatchObject({ state: 'done' });
      // The worker's order is the reference algorithm's (src/engine/rerank tests); here: it is what the
      // search shows, every entry ranked once, the query's person first.
      expect(new Set(outcome.matches.map((m) => m.id))).toEqual(new Set(gallery.state.entries.map((e) => e.id)));
      expect(gallery.state.entries.find((e) => e.id === outcome.matches[0].id)?.identity).toBe('0002');
      expect(outcome.perStage.fused?.map((m) => m.id)).toHaveLength(4);
      settings.rerank = false;
      await query.rerun();
      expect(query.state.outcome!.rerank).toEqual({ state: 'off' });
      expect(query.state.outcome!.matches).toEqual(query.state.outcome!.perStage.fused);
    } finally {
      reranker.dispose();
      channel.port1.close();
    }
  });

  it('reports a query file that is not an image and keeps the previous query and its results', async () => {
    const gallery = newSession(host);
    const query = new QueryService({ host, gallery, codec: nodeCodec, notify, settings: () => ({ budgetMs: Infinity, flip: false, topK: 3, rerank: false }) });
    await query.search(market('0002_c1s1_000451_03.jpg', [200, 40, 40]));
    const { image, outcome } = query.state;
    expect(outcome?.matches).toEqual([]);
    await query.search(toFile(textAsJpeg()));
    expect(query.state.image).toBe(image);
    expect(query.state.outcome).toBe(outcome);
    expect(query.state.status).toBe('done');
    expect(errors()).toEqual([expect.stringMatching(new RegExp(`^Not searched: "${textAsJpeg().name}" is not an image`))]);
  });

  it('calibrates the webcam unknown threshold on the gallery session, and clamps and saves the frame budget', async () => {
    const gallery = newSession(host);
    const crop = (seed: number) => noiseImage(MODEL_INPUT.width, MODEL_INPUT.height, seed);
    await gallery.enroll('alice', [crop(11), crop(12)]);
    await gallery.enroll('bob', [crop(21), crop(22)]);
    const saved: number[] = [];
    const webcam = new WebcamService({ host, gallery, budgetStorage: { get: async () => 80, set: async (ms) => void saved.push(ms) } });
    expect(webcam.state.thresholds.source).toBe('default');
    const disconnect = webcam.connect();
    expect(webcam.state.thresholds).toMatchObject({ source: 'gallery', positives: 2, negatives: 4 });
    await vi.waitFor(() => expect(webcam.state.budgetMs).toBe(80));
    webcam.setBudget(10_000);
    expect(webcam.state.budgetMs).toBe(300);
    expect(saved).toEqual([300]);
    disconnect();
  });
});
