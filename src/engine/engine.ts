// Everything the app needs to start embedding, in order: backend, model, warm-up, calibration.
import { initBackend, type BackendOptions } from './backend';
import { Calibration, memoryCostStorage, type CalibrateOptions, type CostStorage } from './calibration';
import { loadDareModel, type DareModel } from './model';
import { AnytimeRunner } from './runner';
import type { BackendStatus, StageCosts } from './types';
import { warmUp } from './warmup';

export interface EngineProgress {
  phase: 'backend' | 'download' | 'warmup' | 'calibrate';
  /** 0…1 within the phase (the download reports bytes; the others report 0 then 1). */
  fraction: number;
}

export interface EngineOptions extends BackendOptions {
  /** URL of the model's model.json. */
  modelUrl: string;
  /** Where calibrated costs persist (idb-keyval's {get, set}); in memory when absent. */
  storage?: CostStorage;
  calibration?: CalibrateOptions;
  onProgress?: (progress: EngineProgress) => void;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export interface Engine {
  readonly backend: BackendStatus;
  readonly model: DareModel;
  readonly runner: AnytimeRunner;
  readonly calibration: Calibration;
  /** The current calibrated costs (they keep learning from real runs). */
  costs(): StageCosts;
  /** Frees the model's weights (persisting the learned costs first). Create a new engine to switch
   * backend; GalleryIndex instances made on the old backend must be rebuilt too. */
  dispose(): Promise<void>;
}

export async function createEngine(options: EngineOptions): Promise<Engine> {
  const progress = (phase: EngineProgress['phase'], fraction: number) => options.onProgress?.({ phase, fraction });
  progress('backend', 0);
  const backend = await initBackend(options);
  progress('backend', 1);
  const model = await loadDareModel(options.modelUrl, {
    fetch: options.fetch,
    signal: options.signal,
    onProgress: (f) => progress('download', f),
  });
  try {
    progress('warmup', 0);
    await warmUp(model);
    progress('warmup', 1);
    progress('calibrate', 0);
    const calibration = await Calibration.open(model, backend.active, options.storage ?? memoryCostStorage(), options.calibration);
    progress('calibrate', 1);
    const runner = new AnytimeRunner(model, calibration);
    return {
      backend,
      model,
      runner,
      calibration,
      costs: () => calibration.costs(),
      dispose: async () => {
        try {
          await calibration.flush();
        } finally {
          model.dispose();
        }
      },
    };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
