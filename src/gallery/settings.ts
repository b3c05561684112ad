// Small per-device settings in their own IndexedDB database (through idb-keyval), read back with a
// type check so a value from an older version of the app is ignored rather than trusted.
import { createStore, get, set, type UseStore } from 'idb-keyval';
import type { BackendMemory, RememberedBackend } from '../engine/backendChoice';
import type { CostStorage } from '../engine/calibration';
import { BACKEND_ORDER, type BackendName, type StageCosts } from '../engine/types';
import { GalleryStorageError } from './errors';

export const SETTINGS_DB = 'anytime-reid-settings';
const SETTINGS_STORE = 'settings';

/** Every setting, by key. */
export interface Settings {
  /** Time budget per query in ms (Infinity is stored as is: IndexedDB clones it). */
  budgetMs: number;
  /** Backend the user forced, or 'auto' for the fastest on this device. */
  backend: BackendName | 'auto';
  /** Flip test-time augmentation on queries. */
  flip: boolean;
  /** k-reciprocal re-ranking of search results. */
  rerank: boolean;
  /** The webcam's frame budget in ms (detection + every person in view). */
  webcamBudgetMs: number;
}
export type SettingKey = keyof Settings;

const VALID: { [K in SettingKey]: (v: unknown) => v is Settings[K] } = {
  budgetMs: (v): v is number => typeof v === 'number' && v > 0 && !Number.isNaN(v),
  backend: (v): v is BackendName | 'auto' => v === 'auto' || (BACKEND_ORDER as readonly unknown[]).includes(v),
  flip: (v): v is boolean => typeof v === 'boolean',
  rerank: (v): v is boolean => typeof v === 'boolean',
  webcamBudgetMs: (v): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0,
};

// Engine calibration keys are the engine's own (Calibration.storageKey); kept apart from the settings.
const COSTS_PREFIX = 'costs:';
// So is Automatic mode's remembered backend choice (the engine checks what it reads back).
const BACKEND_MEMORY_PREFIX = 'backend-choice:';

export interface SettingsStore {
  /** The stored value, or undefined when unset or not valid for this key. */
  get<K extends SettingKey>(key: K): Promise<Settings[K] | undefined>;
  set<K extends SettingKey>(key: K, value: Settings[K]): Promise<void>;
  /** Storage for the engine's calibrated stage costs: pass as `createEngine({ storage })`. */
  costStorage(): CostStorage;
  /** Where Automatic mode remembers its backend choice for this device: pass as `createEngine({ memory })`. */
  backendMemory(): BackendMemory;
}

/** Opens (lazily) the settings database. Methods reject with a {@link GalleryStorageError} (operation
 * 'settings'); callers can fall back to defaults. */
export function openSettingsStore(dbName = SETTINGS_DB): SettingsStore {
  const store: UseStore = createStore(dbName, SETTINGS_STORE);
  // async, so that a synchronous throw (no `indexedDB` global) rejects like the rest.
  const guard = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (e) {
      throw GalleryStorageError.from(e, 'settings');
    }
  };
  return {
    get: <K extends SettingKey>(key: K) =>
      guard(async () => {
        const value: unknown = await get(key, store);
        return VALID[key](value) ? value : undefined;
      }),
    set: <K extends SettingKey>(key: K, value: Settings[K]) => {
      if (!VALID[key](value)) return Promise.reject(new GalleryStorageError('invalid', 'settings', `Invalid value for setting ${key}: ${String(value)}`));
      return guard(() => set(key, value, store));
    },
    costStorage: () => ({
      get: (key: string) => guard(() => get<unknown>(COSTS_PREFIX + key, store)),
      set: (key: string, value: StageCosts) => guard(() => set(COSTS_PREFIX + key, value, store)),
    }),
    backendMemory: () => ({
      get: (key: string) => guard(() => get<unknown>(BACKEND_MEMORY_PREFIX + key, store)),
      set: (key: string, value: RememberedBackend) => guard(() => set(BACKEND_MEMORY_PREFIX + key, value, store)),
    }),
  };
}
