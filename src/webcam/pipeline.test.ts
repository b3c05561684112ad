import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { marketMissing } from '../../e2e/video/market';
import { buildClip, TWO_PEOPLE } from '../../e2e/video/scene';
import { Calibration, memoryCostStorage } from '../engine/calibration';
import { GalleryIndex } from '../engine/matcher';
import type { DareModel } from '../engine/model';
import { loadModel, modelAvailable, NO_MODEL, useBackend } from '../engine/node/testModel';
import { passParts } from '../engine/parts';
import { AnytimeRunner } from '../engine/runner';
import { warmUp } from '../engine/warmup';
import type { PersonDetector } from './detector';
import { centre } from './geometry';
import { detectorAvailable, loadTestDetector, NO_DETECTOR } from './node/testDetector';
import { WebcamPipeline, type FrameReport, type GalleryView } from './pipeline';

const market = marketMissing();
const why = !modelAvailable ? NO_MODEL : !detectorAvailable ? NO_DETECTOR : market ? `SKIPPED: ${market}` : null;

describe.skipIf(why !== null)(`webcam pipeline on the two-people clip${why ? ` — ${why}` : ''}`, () => {
  let model: DareModel;
  let detector: PersonDetector;
  let calibration: Calibration;
  const clip = why === null ? buildClip(TWO_PEOPLE) : null;
  const thresholds = () => ({ perStage: model.meta.unknownThresholds ?? {}, source: 'default' as const, positives: 0, negatives: 0 });

  beforeAll(async () => {
    await useBackend('wasm');
    model = await loadModel();
    await warmUp(model);
    calibration = await Calibration.open(model, 'wasm', memoryCostStorage(), { runs: 3 });
    detector = await loadTestDetector();
  }, 120_000);
  afterAll(() => {
    detector?.dispose();
    model?.dispose();
  });

  function gallerySource() {
    const index = new GalleryIndex({ stages: model.layout.keys });
    const identities = new Map<string, string>();
    const state = { version: 0 };
    const view = (): GalleryView => ({ version: state.version, size: index.size, search: (s, e, k) => index.search(s, e, k), identityOf: (id) => identities.get(id) });
    const add = (identity: string, all: Parameters<GalleryIndex['add']>[1][]) => {
      all.forEach((e, i) => {
        index.add(`${identity}-${i}`, e);
        identities.set(`${identity}-${i}`, identity);
      });
      state.version++;
    };
    return { index, view, add };
  }

  async function run(pipeline: WebcamPipeline, from: number, count: number, budgetMs: number): Promise<FrameReport[]> {
    const reports: FrameReport[] = [];
    for (let i = from; i < from + count; i++) {
      const { width, height, data } = clip!.frames[i % clip!.frames.length];
      const frame = tf.tensor3d(data, [height, width, 3], 'float32');
      reports.push(await pipeline.process(frame, { budgetMs, thresholds: thresholds(), thresholdScale: 1 }));
      frame.dispose();
    }
    return reports;
  }

  const leftOf = (r: FrameReport) => [...r.people].sort((a, b) => centre(a.box).x - centre(b.box).x);

  it('tracks both people with stable ids, carries them to the fused stage, enrolls one and then recognises only that one', async () => {
    const gallery = gallerySource();
    const pipeline = new WebcamPipeline({ detector, model, calibration, gallery: gallery.view });
    const first = await run(pipeline, 0, 12, 1000);
    const ids = leftOf(first[0]).map((p) => p.track);
    expect(ids).toHaveLength(2);
    for (const r of first) expect(leftOf(r).map((p) => p.track)).toEqual(ids);
    expect(first.at(-1)!.people.map((p) => p.stage)).toEqual(['fused', 'fused']);
    expect(first.at(-1)!.people.every((p) => p.decision?.identity === null && p.decision.distance === null)).toBe(true);

    const capture = pipeline.captureCrops(ids[0], 3, 2);
    await run(pipeline, 12, 6, 1000);
    const crops = await capture;
    expect(crops.map((c) => c.shape)).toEqual(Array(3).fill([model.meta.input.height, model.meta.input.width, 3]));
    gallery.add('alice', await new AnytimeRunner(model, calibration).embedAllBatch(crops));
    tf.dispose(crops);

    const later = await run(pipeline, 18, 20, 1000);
    const [alice, other] = leftOf(later.at(-1)!);
    expect(alice.track).toBe(ids[0]);
    expect(alice.decision?.identity).toBe('alice');
    expect(other.decision?.identity).toBeNull();
    expect(other.decision!.distance!).toBeGreaterThan(alice.decision!.distance!);
    // The entry each distance is to: the only one enrolled (the hub's sightings name it).
    expect([alice.nearestEntryId, other.nearestEntryId].every((id) => id?.startsWith('alice-'))).toBe(true);

    // Steady state: nothing left on the backend frame after frame.
    const before = tf.memory().numTensors;
    await run(pipeline, 38, 5, 1000);
    expect(tf.memory().numTensors).toBe(before);
    pipeline.dispose();
    gallery.index.dispose();
  }, 180_000);

  it('resumes each person where an earlier frame stopped: no part is run twice', async () => {
    const pipeline = new WebcamPipeline({ detector, model, calibration, gallery: gallerySource().view });
    // A budget the detector alone exceeds: each frame, one person without an answer still gets stage 1
    // (all of its parts).
    const toFirst = passParts(model.meta).depth(1, model.layout);
    const tiny = await run(pipeline, 0, 3, 1);
    expect(tiny.map((r) => r.perPerson.map((p) => p.parts))).toEqual([[toFirst], [toFirst], []]);
    expect(tiny[2].people.map((p) => p.stage)).toEqual([1, 1]);
    expect(tiny.every((r) => r.overran)).toBe(true);
    // Then room for everything: the later exits and the fusion only, stage 1's output kept.
    const [roomy] = await run(pipeline, 3, 1, 10_000);
    const rest = passParts(model.meta).count - toFirst;
    expect(roomy.perPerson.map((p) => p.parts)).toEqual([rest, rest]);
    expect(roomy.people.map((p) => p.stage)).toEqual(['fused', 'fused']);
    pipeline.dispose();
  }, 180_000);
});
