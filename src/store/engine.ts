// The engine's lifecycle: pick the backend, download the model, warm up, calibrate; again when the user
// forces another backend. The gallery index lives on the engine's backend, so it is rebuilt each time.

import { create } from 'zustand';
import { createEngine, ModelLoadError, type BackendMemory, type BackendStatus, type CostStorage, type Engine, type EngineProgress, type StageCosts } from '../engine';
import { SHIPPED_MODEL } from '../shippedModel';
import { reportError } from './notices';
import { quietly } from './quietly';
import { settingsStorage, useSettings, type BackendChoice } from './settings';

// The float16 export: half the download of fp32, same Market-1501 accuracy (models/README.md).
export const MODEL_URL = `${import.meta.env.BASE_URL}models/${SHIPPED_MODEL}/model.json`;
/** Absolute: tfjs' threaded wasm backend also fetches the binaries from a blob: worker. */
const WASM_PATHS = new URL(`${import.meta.env.BASE_URL}tfjs-wasm/`, location.href).href;

export type ModelStatus = 'loading' | 'ready' | 'error';

interface EngineState {
  status: ModelStatus;
  progress: EngineProgress | null;
  backend: BackendStatus | null;
  costs: StageCosts | null;
  error: string | null;
  engine: Engine | null;
  /** (Re)starts the engine on the backend chosen in the settings. */
  start(): Promise<void>;
  selectBackend(choice: BackendChoice): Promise<void>;
  /** Re-reads the calibrated costs (they keep learning from real runs). */
  refreshCosts(): void;
  recalibrate(): Promise<void>;
}

/** Listeners told before an engine is disposed (to free what lives on its backend) and after a new one is
 * ready. The gallery store registers here; the engine store does not import it. */
export interface EngineListener {
  /** May wait for work still using the engine to finish. */
  detach(engine: Engine): Promise<void>;
  attach(engine: Engine): Promise<void>;
}
const listeners = new Set<EngineListener>();
export function onEngineChange(listener: EngineListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Calibrated costs persist in IndexedDB; when it is unusable they are measured again on each load. */
const persistedCosts = settingsStorage.costStorage();
const costStorage: CostStorage = {
  get: (key) => quietly(() => persistedCosts.get(key), undefined),
  set: (key, value) => quietly(() => persistedCosts.set(key, value), undefined),
};
/** Automatic mode's choice of backend, likewise (without IndexedDB it probes again on each load). */
const persistedChoice = settingsStorage.backendMemory();
const backendMemory: BackendMemory = {
  get: (key) => quietly(() => persistedChoice.get(key), undefined),
  set: (key, value) => quietly(() => persistedChoice.set(key, value), undefined),
};

/** Only one engine is built at a time (tfjs has one global backend); a newer request supersedes an older. */
let queue: Promise<void> = Promise.resolve();
let generation = 0;

export const useEngine = create<EngineState>()((set, getState) => ({
  status: 'loading',
  progress: null,
  backend: null,
  costs: null,
  error: null,
  engine: null,

  start: () => {
    const gen = ++generation;
    set({ status: 'loading', progress: null, error: null });
    const run = async () => {
      if (gen !== generation) return;
      const old = getState().engine;
      if (old) {
        set({ engine: null });
        for (const l of listeners) await l.detach(old);
        await old.dispose().catch(() => undefined);
      }
      const choice = useSettings.getState().backend;
      try {
        const engine = await createEngine({
          modelUrl: MODEL_URL,
          wasmPaths: WASM_PATHS,
          force: choice === 'auto' ? undefined : choice,
          storage: costStorage,
          memory: backendMemory,
          onProgress: (progress) => {
            if (gen === generation) set({ progress });
          },
        });
        if (gen !== generation) {
          await engine.dispose();
          return;
        }
        set({ engine, backend: engine.backend, costs: engine.costs(), progress: null });
        for (const l of listeners) await l.attach(engine);
        if (gen === generation) set({ status: 'ready' });
      } catch (e) {
        if (gen !== generation) return;
        const message = engineErrorMessage(e);
        set({ status: 'error', error: message, progress: null });
        reportError(message);
      }
    };
    queue = queue.then(run, run);
    return queue;
  },

  selectBackend: (choice) => {
    useSettings.getState().setBackend(choice);
    return getState().start();
  },

  refreshCosts: () => {
    const engine = getState().engine;
    if (engine) set({ costs: engine.costs() });
  },

  recalibrate: async () => {
    const engine = getState().engine;
    if (!engine) return;
    set({ status: 'loading', progress: { phase: 'calibrate', fraction: 0 } });
    try {
      const costs = await engine.calibration.recalibrate();
      if (getState().engine === engine) set({ costs, status: 'ready', progress: null });
    } catch (e) {
      reportError(`Calibration failed: ${e instanceof Error ? e.message : String(e)}`);
      if (getState().engine === engine) set({ status: 'ready', progress: null });
    }
  },
}));

function engineErrorMessage(e: unknown): string {
  if (e instanceof ModelLoadError) {
    const hint = e.kind === 'network' || e.kind === 'http' ? ' Check the connection (or that the app is served with its model) and retry.' : '';
    return `The model could not be loaded: ${e.message}.${hint}`;
  }
  return `The engine could not start: ${e instanceof Error ? e.message : String(e)}`;
}

// Calibrated costs learned from real runs are written when the page is hidden (it may never come back).
if (typeof document !== 'undefined') {
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') void useEngine.getState().engine?.calibration.flush().catch(() => undefined);
  });
}
