// Per-device settings: the frame budget, flip test-time augmentation, re-ranking and the backend the user
// forces (or automatic choice), saved in IndexedDB (src/gallery's settings store); how many matches to show.

import { create } from 'zustand';
import { SEARCH } from '../config';
import { BACKEND_ORDER, type BackendName } from '../engine';
import { openSettingsStore, type SettingKey, type Settings } from '../gallery';
import { quietly } from './quietly';

export type BackendChoice = Settings['backend'];

export const MAX_TOP_K = SEARCH.maxTopK;

export const settingsStorage = openSettingsStore();

const isBackend = (v: string | null): v is BackendName => v !== null && (BACKEND_ORDER as readonly string[]).includes(v);

/** `?backend=wasm` in the address forces a backend for this page load without changing the saved choice. */
function backendFromUrl(): BackendName | null {
  const v = new URLSearchParams(location.search).get('backend');
  return isBackend(v) ? v : null;
}

// The webcam's budget is saved here too, but the webcam store owns it.
interface SettingsState extends Omit<Settings, 'webcamBudgetMs'> {
  topK: number;
  loaded: boolean;
  /** Reads the saved settings (defaults where none or storage is unusable). */
  load(): Promise<void>;
  setBudget(ms: number): void;
  setFlip(flip: boolean): void;
  setRerank(rerank: boolean): void;
  setTopK(k: number): void;
  setBackend(choice: BackendChoice): void;
}

/** Saving is best effort: when IndexedDB is unusable the value still holds for this tab. */
function save<K extends SettingKey>(key: K, value: Settings[K]): void {
  void quietly(() => settingsStorage.set(key, value), undefined);
}

export const useSettings = create<SettingsState>()((set) => ({
  budgetMs: SEARCH.defaultBudgetMs,
  flip: false,
  rerank: false,
  backend: 'auto',
  topK: SEARCH.defaultTopK,
  loaded: false,

  load: async () => {
    const read = <K extends SettingKey>(key: K) => quietly(() => settingsStorage.get(key), undefined);
    const [budgetMs, flip, rerank, backend] = await Promise.all([read('budgetMs'), read('flip'), read('rerank'), read('backend')]);
    set((s) => ({
      budgetMs: budgetMs ?? s.budgetMs,
      flip: flip ?? s.flip,
      rerank: rerank ?? s.rerank,
      backend: backendFromUrl() ?? backend ?? s.backend,
      loaded: true,
    }));
  },
  setBudget: (ms) => {
    // Infinity is a budget too: no limit, the whole model.
    if (Number.isNaN(ms) || ms <= 0) return;
    save('budgetMs', ms);
    set({ budgetMs: ms });
  },
  setFlip: (flip) => {
    save('flip', flip);
    set({ flip });
  },
  setRerank: (rerank) => {
    save('rerank', rerank);
    set({ rerank });
  },
  setTopK: (k) => {
    if (Number.isInteger(k) && k >= 1 && k <= MAX_TOP_K) set({ topK: k });
  },
  setBackend: (choice) => {
    save('backend', choice);
    set({ backend: choice });
  },
}));
