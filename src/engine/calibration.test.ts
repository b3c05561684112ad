import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budgetForStage, Calibration, median, memoryCostStorage, stageForBudget } from './calibration';
import type { DareModel } from './model';
import { FORMAT1_TEST_MODEL, loadModel, useBackend } from './node/testModel';
import type { StageCosts } from './types';
import { warmUp } from './warmup';

const costs = (ms: StageCosts['ms'], flipMs?: StageCosts['flipMs']): StageCosts => ({
  backend: 'wasm',
  modelUrl: 'm',
  ms,
  ...(flipMs ? { flipMs } : {}),
  samples: 0,
  updatedAt: 0,
});

describe('stageForBudget / budgetForStage', () => {
  const c = costs([4, 2, 3, 5, 1]);
  it.each([
    [0, 1],
    [5.9, 1],
    [6, 2],
    [8.99, 2],
    [9, 3],
    [14, 4],
    [14.99, 4],
    [15, 'fused'],
    [Infinity, 'fused'],
  ])('a budget of %s ms reaches stage %s', (budget, stage) => {
    expect(stageForBudget(c, budget)).toBe(stage);
  });
  it('reads the number of exits from the costs (a three-exit model: four steps)', () => {
    const three = costs([4, 2, 3, 1]);
    expect([5, 6, 9, 10].map((budget) => stageForBudget(three, budget))).toEqual([1, 2, 3, 'fused']);
    expect(budgetForStage(three, 'fused')).toBe(10);
  });
  it('sums the steps up to a stage', () => {
    expect([1, 2, 3, 4, 'fused'].map((s) => budgetForStage(c, s as 1))).toEqual([4, 6, 9, 14, 15]);
  });
  it('uses the flip costs when known, else twice the plain ones', () => {
    expect(budgetForStage(c, 'fused', true)).toBe(30);
    const withFlip = costs([4, 2, 3, 5, 1], [5, 3, 4, 6, 1]);
    expect(budgetForStage(withFlip, 3, true)).toBe(12);
    expect(stageForBudget(withFlip, 11.9, true)).toBe(2);
  });
  it('median', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 10])).toBe(3.5);
  });
});

// On the chain model: the stored costs below are written for its five steps (four exits and the fusion).
describe.skipIf(!FORMAT1_TEST_MODEL)(`Calibration with the real model on wasm${FORMAT1_TEST_MODEL ? '' : ' — SKIPPED: the format-1 model is absent'}`, () => {
  let model: DareModel;
  beforeAll(async () => {
    await useBackend('wasm');
    model = await loadModel(FORMAT1_TEST_MODEL!.dir);
    await warmUp(model);
  });
  afterAll(() => model?.dispose());

  const quick = { warmupRuns: 1, runs: 3 };

  it('measures on first use and persists under (backend, model)', async () => {
    const storage = memoryCostStorage();
    const calibration = await Calibration.open(model, 'wasm', storage, quick);
    const c = calibration.costs();
    expect(c.backend).toBe('wasm');
    expect(c.modelUrl).toBe(model.url);
    for (const ms of [...c.ms, ...c.flipMs!]) expect(ms).toBeGreaterThan(0);
    expect(await storage.get(Calibration.storageKey('wasm', model.modelId))).toEqual(c);
    expect(await storage.get(Calibration.storageKey('cpu', model.modelId))).toBeUndefined();
  });

  it('reuses stored costs instead of measuring again', async () => {
    const storage = memoryCostStorage();
    const stored = { ...costs([11, 22, 33, 44, 55]), modelUrl: model.url, samples: 7, updatedAt: 123 };
    await storage.set(Calibration.storageKey('wasm', model.modelId), stored);
    const calibration = await Calibration.open(model, 'wasm', storage, quick);
    expect(calibration.costs()).toEqual(stored);
  });

  it('measures again when what is stored is malformed or for another model URL', async () => {
    const storage = memoryCostStorage();
    const key = Calibration.storageKey('wasm', model.modelId);
    for (const bad of [{ ...costs([1, 2, 3, 4, 5]), modelUrl: 'elsewhere' }, { ...costs([1, 2, 3, 4, 5]), modelUrl: model.url, ms: [1, 2] }, 'junk']) {
      await storage.set(key, bad as StageCosts);
      const c = (await Calibration.open(model, 'wasm', storage, quick)).costs();
      expect(c.updatedAt).toBeGreaterThan(0);
      expect(c.ms).not.toEqual([1, 2, 3, 4, 5]);
      expect(await storage.get(key)).toEqual(c);
    }
  });

  it('learns from real runs (bounded EMA), persisting every N runs and on flush', async () => {
    const storage = memoryCostStorage();
    const key = Calibration.storageKey('wasm', model.modelId);
    await storage.set(key, { ...costs([10, 10, 10, 10, 10]), modelUrl: model.url });
    const calibration = await Calibration.open(model, 'wasm', storage, { learningRate: 0.5, persistEvery: 2 });
    calibration.observe([20, 10, 5, 1000, 10], false);
    expect(calibration.stepCosts(false)).toEqual([15, 10, 7.5, 25, 10]); // 1000 is clipped to 4 × 10
    expect(calibration.costs().samples).toBe(1);
    expect((await storage.get(key)) as StageCosts).toMatchObject({ ms: [10, 10, 10, 10, 10] });
    calibration.observe([30, 20, 20, 20, 20], true); // flip costs start from 2× the plain ones
    expect(calibration.stepCosts(true)).toEqual([30, 20, 17.5, 35, 20]);
    await new Promise((resolve) => setTimeout(resolve, 0)); // the second run triggered a background write
    expect((await storage.get(key)) as StageCosts).toMatchObject({ ms: [15, 10, 7.5, 25, 10], flipMs: [30, 20, 17.5, 35, 20], samples: 2 });
    calibration.observe([5, 5, 5, 5, 5], false);
    await calibration.flush();
    expect(((await storage.get(key)) as StageCosts).ms).toEqual([10, 7.5, 6.25, 15, 7.5]);
  });

  it('learns from single steps too (the webcam tracks), into the same estimates the runner plans with', async () => {
    const storage = memoryCostStorage();
    await storage.set(Calibration.storageKey('wasm', model.modelId), { ...costs([8, 8, 8, 8, 8]), modelUrl: model.url });
    const calibration = await Calibration.open(model, 'wasm', storage, { learningRate: 0.5 });
    // Mean 8, deviation 8 / 4 = 2 to start with: cautious = mean + 2 deviations.
    expect(calibration.cautiousStepCosts(false)).toEqual([12, 12, 12, 12, 12]);
    calibration.observeStep(1, 16);
    expect(calibration.stepCosts(false)).toEqual([8, 12, 8, 8, 8]);
    expect(calibration.cautiousStepCosts(false)[1]).toBe(12 + 2 * 5);
    expect(calibration.costs().samples).toBe(0); // a run is counted at its first step
    calibration.observeStep(0, 8);
    expect(calibration.costs()).toMatchObject({ ms: [8, 12, 8, 8, 8], samples: 1 });
  });
});
