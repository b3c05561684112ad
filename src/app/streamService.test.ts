// The stream service in Node, through real parts: the real model on wasm embeds Market-1501-named images
// into a real GallerySession (fake-indexeddb, its GalleryIndex on the backend), and the replay searches it.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { personJpeg, toFile } from '../../e2e/fixtures/makeImages';
import { createEngine, type Engine } from '../engine';
import { fileFetch, modelJsonUrl } from '../engine/node/fileFetch';
import { MODEL_DIR, modelAvailable, WASM_DIR, withModel } from '../engine/node/testModel';
import { openGalleryStore } from '../gallery';
import { EngineHost, type EngineFactory } from './engineHost';
import { GallerySession } from './gallerySession';
import { nodeCodec } from './node/nodeCodec';
import type { Notify } from './notify';
import { StreamService, type StreamServiceState } from './streamService';

const errors: string[] = [];
const notify: Notify = { error: (message) => errors.push(message), note: () => undefined };

const engineFrom = (dir: string): EngineFactory => (force, onProgress) =>
  createEngine({ modelUrl: modelJsonUrl(dir), fetch: fileFetch, wasmPaths: WASM_DIR, force: force ?? 'wasm', calibration: { warmupRuns: 1, runs: 2, measureFlip: false }, onProgress });

let dbCount = 0;
async function galleryOf(host: EngineHost, names: readonly string[]): Promise<GallerySession> {
  const session = new GallerySession({ storage: openGalleryStore(`stream-service-test-${++dbCount}`), host, codec: nodeCodec, notify, download: () => undefined });
  // Each identity its own shirt, a little different per camera: the model has something to match on.
  const shirt = (name: string): [number, number, number] => {
    const id = Math.abs(Number(name.split('_')[0])) || 1;
    const cam = Number(/_c(\d)/.exec(name)?.[1] ?? 1);
    return [(id * 67) % 256, (id * 131 + 8 * cam) % 256, (id * 29 + 5 * cam) % 256];
  };
  await session.addFiles(names.map((name) => toFile(personJpeg({ name, shirt: shirt(name) }))), '');
  return session;
}

/** Every state the service announces, from now on. */
function recorded(service: StreamService): StreamServiceState[] {
  const states: StreamServiceState[] = [];
  service.subscribe((s) => void states.push(s));
  return states;
}

beforeEach(() => {
  errors.length = 0;
});

describe.skipIf(!modelAvailable)(withModel('StreamService'), () => {
  const host = new EngineHost(engineFrom(MODEL_DIR), notify);
  let engine: Engine;
  let gallery: GallerySession;
  /** 11 people seen by two cameras each (22 queries), one person seen once, one junk image. */
  const PAIRED = Array.from({ length: 11 }, (_, i) => String(2 + i).padStart(4, '0')).flatMap((id, i) => [`${id}_c1s1_000${100 + i}_01.jpg`, `${id}_c${2 + (i % 5)}s1_000${200 + i}_01.jpg`]);
  const SINGLE = '0099_c3s1_000300_01.jpg';
  const JUNK = '-1_c1s1_000400_01.jpg';

  beforeAll(async () => {
    await host.start(undefined);
    engine = host.ready()!;
    gallery = await galleryOf(host, [...PAIRED, SINGLE, JUNK]);
  });
  afterAll(() => engine?.dispose());

  it('replays every person with a true match once, on the model layout, reporting progress and going back to idle', async () => {
    expect(gallery.state.entries).toHaveLength(PAIRED.length + 2);
    let yields = 0;
    const service = new StreamService({ host, gallery, notify, yieldToUi: async () => void yields++ });
    const exitCosts = service.state.exitCosts!;
    expect(exitCosts.exits).toEqual(engine.model.layout.streamExits);
    const [first, full] = [exitCosts.costs[0], exitCosts.costs[exitCosts.costs.length - 1]];
    const states = recorded(service);

    const replaying = service.replay();
    await service.replay(); // a second replay while one runs does nothing
    await replaying;

    expect(errors).toEqual([]);
    const run = service.state.run!;
    expect(run.policy).toBe('margin');
    expect(run.exitStages).toEqual(engine.model.layout.streamExits);
    expect(run.costs).toEqual(exitCosts.costs);
    expect(run.budgetMs).toBe((first + full) / 2); // no budget chosen: the middle of the range
    expect(service.state.budgetMs).toBe(run.budgetMs);
    // The junk image is no query; the person seen once has no true match and is left out.
    expect(new Set(run.queries.map((q) => q.entry.fileName))).toEqual(new Set(PAIRED));
    expect(run.skipped).toBe(1);
    expect(run.exits).toHaveLength(run.exitStages.length);
    expect(run.exits.reduce((a, b) => a + b, 0)).toBe(PAIRED.length);
    expect(run.averageCost).toBeCloseTo(run.queries.reduce((a, q) => a + q.cost, 0) / PAIRED.length, 9);
    expect(run.averageCost).toBeGreaterThanOrEqual(first);
    expect(run.averageCost).toBeLessThanOrEqual(full);
    expect(run.curves.anytime.map((p) => p.cost)).toEqual(run.costs);

    // 23 persons are compared: progress after the 20th, then idle; one yield there, one before the curves.
    const statuses = states.map((s) => [s.status, s.progress]);
    expect(statuses.filter(([status]) => status === 'running')).toEqual([
      ['running', 0],
      ['running', 20 / 23],
      ['running', 20 / 23], // the run itself
    ]);
    expect(statuses.at(-1)).toEqual(['idle', 0]);
    expect(yields).toBe(2);
  });

  it('keeps the average on the budget where the router guarantees it: the first exit for C₁, the full model for Cₙ', async () => {
    const service = new StreamService({ host, gallery, notify, yieldToUi: async () => undefined });
    const { costs, exits } = service.state.exitCosts!;
    service.setBudget(costs[0]);
    await service.replay();
    expect(service.state.run!.averageCost).toBeLessThanOrEqual(costs[0] * (1 + 1e-12));
    expect(service.state.run!.exits).toEqual([PAIRED.length, ...exits.slice(1).map(() => 0)]);

    service.setPolicy('distance');
    service.setBudget(costs[costs.length - 1]);
    await service.replay();
    const run = service.state.run!;
    expect(run.policy).toBe('distance');
    expect(run.averageCost).toBeCloseTo(costs[costs.length - 1], 9);
    expect(run.queries.every((q) => q.exit === exits.length && run.exitStages[q.exit - 1] === 'fused')).toBe(true);
    expect(errors).toEqual([]);
  });

  it('says why when no person has a true match, and keeps no run', async () => {
    // One person twice but by the same camera (no re-identification), another once.
    const lonely = await galleryOf(host, ['0002_c1s1_000451_03.jpg', '0002_c1s2_000600_01.jpg', '0007_c3s1_000100_01.jpg']);
    const service = new StreamService({ host, gallery: lonely, notify, yieldToUi: async () => undefined });
    await service.replay();
    expect(errors).toEqual(['The stream replay failed: no person has a true match among the other images: add more images of the same people']);
    expect(service.state).toMatchObject({ status: 'idle', progress: 0, run: null });
  });

  it('does nothing before the engine has a calibration', async () => {
    const idle = new EngineHost(engineFrom(MODEL_DIR), notify);
    const service = new StreamService({ host: idle, gallery, notify });
    expect(service.state.exitCosts).toBeNull();
    await service.replay();
    expect(service.state).toMatchObject({ status: 'idle', run: null, budgetMs: null });
    expect(errors).toEqual([]);
  });
});
