import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Calibration, memoryCostStorage } from './calibration';
import { createEngine, type EngineProgress } from './engine';
import { fileFetch, modelJsonUrl } from './node/fileFetch';
import { NO_MODEL, noiseImage, TEST_MODELS, WASM_DIR } from './node/testModel';

if (TEST_MODELS.length === 0) describe.skip(`createEngine — ${NO_MODEL}`, () => undefined);

describe.each(TEST_MODELS)('createEngine with $name', ({ dir }) => {
  it('starts backend, model, warm-up and calibration in order, then embeds and frees its tensors', async () => {
    const storage = memoryCostStorage();
    const phases: EngineProgress[] = [];
    const engine = await createEngine({
      modelUrl: modelJsonUrl(dir),
      fetch: fileFetch,
      wasmPaths: WASM_DIR,
      force: 'wasm',
      storage,
      calibration: { warmupRuns: 1, runs: 3 },
      onProgress: (p) => phases.push(p),
    });
    expect(engine.backend.active).toBe('wasm');
    expect([...new Set(phases.map((p) => p.phase))]).toEqual(['backend', 'download', 'warmup', 'calibrate']);
    expect(phases.filter((p) => p.phase === 'download').at(-1)?.fraction).toBe(1);
    expect(await storage.get(Calibration.storageKey('wasm', engine.model.modelId))).toEqual(engine.costs());

    expect(engine.costs().ms).toHaveLength(engine.model.layout.stepCount);
    const r = await engine.runner.embed(noiseImage(64, 128, 2), { deadlineMs: Infinity });
    expect(r.stage).toBe('fused');
    expect(r.stageMs).toHaveLength(engine.model.layout.stepCount);
    const tensorsWithModel = tf.memory().numTensors;
    await engine.dispose();
    expect(tf.memory().numTensors).toBeLessThan(tensorsWithModel);
    expect((await storage.get(Calibration.storageKey('wasm', engine.model.modelId)) as { samples: number }).samples).toBe(1);
  });
});
