import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Calibration, memoryCostStorage } from './calibration';
import type { DareModel } from './model';
import { loadModel, NO_MODEL, noiseImage, TEST_MODELS, useBackend } from './node/testModel';
import type { RgbaPixels } from './pixels';
import { AnytimeRunner } from './runner';
import { stageKey, type StageCosts, type StageKey } from './types';
import { finishEmbeddings, prepareBatch, runMonolithic, StagedPass } from './staged';
import { passParts } from './parts';
import { PartCosts } from './partCosts';
import { COSTS } from '../config';
import { l2Normalise } from './vectors';
import { warmUp } from './warmup';

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);
const norm = (a: Float32Array) => Math.sqrt(dot(a, a));

/** A smooth image with some texture: closer to a photo than pure noise. */
function personLikeImage(width: number, height: number, seed: number): RgbaPixels {
  const noise = noiseImage(width, height, seed).data;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      data[i] = (x * 4 + seed * 40) % 256 * 0.7 + noise[i] * 0.3;
      data[i + 1] = (y * 2) % 256 * 0.7 + noise[i + 1] * 0.3;
      data[i + 2] = ((x + y) * 3 + seed * 90) % 256 * 0.7 + noise[i + 2] * 0.3;
      data[i + 3] = 255;
    }
  }
  return { width, height, data };
}

function mirror(img: RgbaPixels): RgbaPixels {
  const data = new Uint8ClampedArray(img.data.length);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const from = (y * img.width + (img.width - 1 - x)) * 4;
      data.set(img.data.subarray(from, from + 4), (y * img.width + x) * 4);
    }
  }
  return { ...img, data };
}

/** Each pixel repeated 2×2: bilinear resizing with half-pixel centres gives the original back. */
function upscale2x(img: RgbaPixels): RgbaPixels {
  const width = img.width * 2;
  const data = new Uint8ClampedArray(img.data.length * 4);
  for (let y = 0; y < img.height * 2; y++) {
    for (let x = 0; x < width; x++) {
      const from = ((y >> 1) * img.width + (x >> 1)) * 4;
      data.set(img.data.subarray(from, from + 4), (y * width + x) * 4);
    }
  }
  return { width, height: img.height * 2, data };
}

function expectSameEmbeddings(a: Partial<Record<StageKey, Float32Array>>, b: Partial<Record<StageKey, Float32Array>>, minCos = 0.9999) {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(b) as StageKey[]) expect(dot(a[k]!, b[k]!), `stage ${k}`).toBeGreaterThan(minCos);
}

if (TEST_MODELS.length === 0) describe.skip(`AnytimeRunner with the real model — ${NO_MODEL}`, () => undefined);

describe.each(TEST_MODELS)('AnytimeRunner with the real model $name on wasm', ({ dir, input: { width: W, height: H } }) => {
  let model: DareModel;
  let runner: AnytimeRunner;
  const image = personLikeImage(W, H, 1);

  /** A runner whose calibrated costs are the given ones and do not learn (deterministic decisions). */
  async function runnerWithCosts(ms: StageCosts['ms']): Promise<AnytimeRunner> {
    const storage = memoryCostStorage();
    await storage.set(Calibration.storageKey('wasm', model.modelId), { backend: 'wasm', modelUrl: model.url, ms, samples: 0, updatedAt: 1 });
    return new AnytimeRunner(model, await Calibration.open(model, 'wasm', storage, { learningRate: 0 }));
  }

  beforeAll(async () => {
    await useBackend('wasm');
    model = await loadModel(dir);
    expect(model.meta.input).toMatchObject({ height: H, width: W }); // the images below are made at this size
    await warmUp(model);
    runner = new AnytimeRunner(model, await Calibration.open(model, 'wasm', memoryCostStorage(), { warmupRuns: 1, runs: 5 }));
  });
  afterAll(() => model?.dispose());

  it('runs every step to the fused embedding when the deadline is Infinity', async () => {
    const r = await runner.embed(image, { deadlineMs: Infinity });
    expect(r.stage).toBe('fused');
    expect(r.overran).toBe(false);
    expect(r.stageMs).toHaveLength(model.layout.stepCount);
    expect(Object.keys(r.embeddings).sort()).toEqual([...model.layout.keys].sort());
    for (const e of Object.values(r.embeddings) as Float32Array[]) {
      expect(e).toHaveLength(128);
      expect(norm(e)).toBeCloseTo(1, 5);
    }
    expect(r.embedding).toBe(r.embeddings.fused);
    expect(r.totalMs).toBeGreaterThanOrEqual(r.stageMs.reduce((a, b) => a + b, 0));
  });

  it('runs stage 1 only, and says it overran, when the deadline is 0', async () => {
    const r = await runner.embed(image, { deadlineMs: 0 });
    expect(r.stage).toBe(1);
    expect(r.overran).toBe(true);
    expect(r.stageMs).toHaveLength(1);
    expect(Object.keys(r.embeddings)).toEqual(['1']);
    expect(r.embedding).toBe(r.embeddings['1']);
  });

  it('stops before the first step whose calibrated cost does not fit in the time left', async () => {
    // The model really runs in a few ms; the huge calibrated costs decide where it stops.
    // Step i costing 1e6 stops the run after step i - 1: stages 1 … n, then no huge step at all: fused.
    const { stepCount, keys } = model.layout;
    const cases: [StageCosts['ms'], number, string, number][] = Array.from({ length: stepCount }, (_, huge) => {
      const ms = Array.from({ length: stepCount }, (_, i) => (i === huge + 1 ? 1e6 : 1));
      return [ms, 1e5, keys[huge], huge + 1];
    });
    expect(cases.at(-1)?.[2]).toBe('fused');
    for (const [ms, deadlineMs, stage, steps] of cases) {
      const r = await (await runnerWithCosts(ms)).embed(image, { deadlineMs });
      expect(String(r.stage), `costs ${ms.join(',')}`).toBe(stage);
      expect(r.overran).toBe(false);
      expect(r.stageMs).toHaveLength(steps);
    }
  });

  it('with complete, runs on past the deadline on the same pass: the result is the budgeted run, completed has every stage', async () => {
    const fixed = await runnerWithCosts(model.layout.ids.map((_, i) => (i === 1 ? 1e6 : 1)));
    const r = await fixed.embed(image, { deadlineMs: 1e5, complete: true });
    expect(r.stage).toBe(1);
    expect(r.stageMs).toHaveLength(1);
    expect(Object.keys(r.embeddings)).toEqual(['1']);
    expect(Object.keys(r.completed ?? {})).toEqual(model.layout.keys);
    expect(r.completed?.['1']).toBe(r.embeddings['1']);
    const all = await fixed.embedAll(image);
    for (const id of model.layout.ids) expect(dot(r.completed![stageKey(id)], all[stageKey(id)]), `stage ${id}`).toBeGreaterThan(0.9999);
    expect((await fixed.embed(image, { deadlineMs: 1e5 })).completed).toBeUndefined();
  });

  it('with measured costs, runs each step only if elapsed + its cost fit the deadline', async () => {
    for (const deadlineMs of [3, 6, 9, 12, 16, 25]) {
      const costs = runner.calibration.stepCosts(false);
      const r = await runner.embed(image, { deadlineMs });
      // Time outside the steps' own timings (bookkeeping, GC, the OS preempting us): at most this much
      // of it had passed when the runner decided to stop.
      const outsideSteps = r.totalMs - r.stageMs.reduce((a, b) => a + b, 0);
      let elapsed = r.stageMs[0];
      for (let i = 1; i < r.stageMs.length; i++) {
        expect(elapsed + costs[i], `deadline ${deadlineMs}, step ${i}`).toBeLessThanOrEqual(deadlineMs);
        elapsed += r.stageMs[i];
      }
      if (r.stageMs.length < model.layout.stepCount) {
        expect(elapsed + outsideSteps + costs[r.stageMs.length], `deadline ${deadlineMs}: stopped too early`).toBeGreaterThan(deadlineMs);
      }
    }
  });

  it('gives the same embeddings stage by stage as in one forward pass', async () => {
    for (const seed of [1, 2, 3]) {
      const img = personLikeImage(W, H, seed);
      const staged = await runner.embed(img, { deadlineMs: Infinity });
      expectSameEmbeddings(staged.embeddings, await runner.embedAll(img));
    }
  });

  it('resumes a pass where any part stopped: part by part gives the step-by-step embeddings, and a pass dropped inside an exit leaks nothing', async () => {
    const parts = passParts(model.meta);
    expect(parts.count).toBe(model.meta.stages.reduce((n, s) => n + s.parts.length, 0) + 1);
    const byStep = await runner.embedAll(image);
    const before = tf.memory().numTensors;
    const pass = new StagedPass(model, [image], false);
    const got: Partial<Record<StageKey, Float32Array>> = {};
    for (let j = 0; j < parts.count; j++) {
      const part = await pass.nextPart();
      expect(part.index).toBe(j);
      expect(part.step).toBe(parts.stepOf[j]);
      expect(pass.partsDone).toBe(j + 1);
      if (part.stage === null) continue;
      expect(parts.depth(part.stage, model.layout)).toBe(j + 1);
      expect(part.stepMs).toBeGreaterThanOrEqual(part.ms);
      got[stageKey(part.stage)] = finishEmbeddings(part.values!, 1, false)[0];
    }
    expectSameEmbeddings(got, byStep);
    await expect(pass.nextPart()).rejects.toThrow('all steps already ran');
    // step() after a part finishes the step that part began (or, if it completed one, runs the next)
    const mixed = new StagedPass(model, [image], false);
    const first = await mixed.nextPart();
    const rest = await mixed.step();
    const expected = first.stage === null ? 1 : 2;
    expect(rest.stage).toBe(expected);
    expect(mixed.partsDone).toBe(parts.depth(expected, model.layout));
    expect(dot(finishEmbeddings(rest.values, 1, false)[0], byStep[stageKey(expected)])).toBeGreaterThan(0.9999);
    mixed.dispose();
    for (let stop = 1; stop < parts.count; stop++) {
      const dropped = new StagedPass(model, [image], false);
      for (let j = 0; j < stop; j++) await dropped.nextPart();
      dropped.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('plans parts with what a step costs: one-part steps as calibrated, the others by their share until measured', async () => {
    const parts = passParts(model.meta);
    const ms = model.layout.ids.map((id) => (id === 'fused' ? 0.01 : 10));
    const costs = new PartCosts((await runnerWithCosts(ms)).calibration, parts);
    const first = costs.cautious();
    // A fresh estimate's deviation is a quarter of its mean (RunningCost), so cautious = mean · (1 + k/4).
    const caution = 1 + COSTS.cautionDeviations / 4;
    parts.stepOf.forEach((step, j) => expect(first[j]).toBeCloseTo(ms[step] * parts.shareOf[j] * caution, 6));
    const summed = parts.stepOf.reduce<number[]>((sum, step, j) => ((sum[step] = (sum[step] ?? 0) + parts.shareOf[j]), sum), []);
    summed.forEach((share) => expect(share).toBeCloseTo(1, 9));
    // A part run teaches its own estimate (and a completed step the calibration, whose rate is 0 here).
    const multi = parts.stepOf.findIndex((step) => !parts.single(step));
    if (multi >= 0) {
      costs.observe({ step: parts.stepOf[multi], index: multi, stage: null, values: null, ms: 50, stepMs: null });
      expect(costs.cautious()[multi]).toBeGreaterThan(first[multi]);
    }
  });

  it('flip averages the raw embeddings of the image and its mirror, then normalises', async () => {
    const flip = await runner.embedAll(image, { flip: true });
    // Reference: the graph run on [image, mirror made in JS] in one batch, rows summed here.
    const raw = tf.tidy(() => runMonolithic(model, prepareBatch(model, [image, mirror(image)], false)).map((t) => t.arraySync()));
    model.layout.ids.forEach((id, s) => {
      const mean = l2Normalise(Float32Array.from(raw[s][0], (x, j) => x + raw[s][1][j]));
      expect(dot(flip[stageKey(id)], mean), `stage ${id}`).toBeGreaterThan(0.9999);
    });
    const plain = await runner.embedAll(image);
    expect(dot(flip.fused, plain.fused)).toBeLessThan(0.999999); // the mirror did count
    const staged = await runner.embed(image, { deadlineMs: Infinity, flip: true });
    expectSameEmbeddings(staged.embeddings, flip);
  });

  it('takes RGBA pixels, an RGB tensor, and other sizes (resized to the model input)', async () => {
    const base = await runner.embedAll(image);
    const rgb = new Float32Array(W * H * 3).map((_, i) => image.data[Math.floor(i / 3) * 4 + (i % 3)]);
    const tensor = tf.tensor3d(rgb, [H, W, 3]);
    expectSameEmbeddings(await runner.embedAll(tensor), base);
    expect(tensor.isDisposed).toBe(false);
    const ints = tf.cast(tensor, 'int32') as tf.Tensor3D;
    expectSameEmbeddings(await runner.embedAll(ints), base);
    tf.dispose([tensor, ints]);
    expectSameEmbeddings(await runner.embedAll(upscale2x(image)), base);
    const odd = await runner.embed(personLikeImage(50, 170, 4), { deadlineMs: Infinity });
    expect(odd.stage).toBe('fused');
  });

  it('embeds a batch exactly as one image at a time', async () => {
    const images = [1, 5, 6].map((s) => personLikeImage(W, H, s));
    const batch = await runner.embedAllBatch(images);
    for (let i = 0; i < images.length; i++) expectSameEmbeddings(batch[i], await runner.embedAll(images[i]));
    expect(await runner.embedAllBatch([])).toEqual([]);
  });

  it('runs concurrent calls one at a time, each within its own deadline accounting', async () => {
    const results = await Promise.all([
      runner.embed(image, { deadlineMs: Infinity }),
      runner.embed(image, { deadlineMs: Infinity }),
      runner.embedAll(image),
    ]);
    expectSameEmbeddings(results[0].embeddings, results[1].embeddings, 0.999999);
    expect(results[1].totalMs).toBeGreaterThan(results[1].stageMs.reduce((a, b) => a + b, 0)); // it waited for the first
  });

  it('feeds real step times to the calibration', async () => {
    const before = runner.calibration.costs().samples;
    await runner.embed(image, { deadlineMs: Infinity });
    await runner.embed(image, { deadlineMs: 0, flip: true });
    expect(runner.calibration.costs().samples).toBe(before + 2);
  });

  it('leaks no tensor over 100 embeds', async () => {
    await runner.embed(image, { deadlineMs: Infinity });
    const before = tf.memory().numTensors;
    const deadlines = [0, 2, 4, 8, 16, Infinity];
    for (let i = 0; i < 100; i++) {
      await runner.embed(image, { deadlineMs: deadlines[i % deadlines.length], flip: i % 7 === 0 });
      if (i % 25 === 0) await runner.embedAllBatch([image, image]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
