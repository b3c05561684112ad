// Searching the gallery with a query image: the anytime embed within the budget (which stage it reached,
// how long it took) and its top-k matches; for the per-stage view, the ranked lists of all five embeddings.
// The search runs again when the budget, flip, k, the gallery or the engine change.

import { create } from 'zustand';
import { stageKey, type EmbedResult, type Match, type StageKey } from '../engine';
import { onEngineChange, useEngine } from './engine';
import { searchGallery, useGallery } from './gallery';
import { failureMessage, readModelImage } from './images';
import { reportError } from './notices';
import { useSettings } from './settings';

export interface QueryImage {
  fileName: string;
  /** Shown next to the results. */
  thumbnail: Blob;
  pixels: ImageData;
}

export interface QueryOutcome {
  /** The anytime run within the budget. */
  run: Omit<EmbedResult, 'embedding' | 'embeddings'>;
  budgetMs: number;
  flip: boolean;
  /** Top-k for the embedding the budget produced. */
  matches: Match[];
  /** Top-k for every embedding (all five computed for this view, whatever the budget reached). */
  perStage: Partial<Record<StageKey, Match[]>>;
  galleryVersion: number;
}

interface QueryState {
  image: QueryImage | null;
  status: 'idle' | 'decoding' | 'searching' | 'done';
  outcome: QueryOutcome | null;
  search(file: File): Promise<void>;
  /** Searches again with the current settings (no-op without a query image or a ready engine). */
  rerun(): Promise<void>;
}

let running: Promise<void> | null = null;
let again = false;

export const useQuery = create<QueryState>()((set, get) => {
  const runOnce = async (): Promise<void> => {
    const { image } = get();
    const engine = useEngine.getState().engine;
    if (!image || !engine || useEngine.getState().status !== 'ready') return;
    const { budgetMs, flip, topK } = useSettings.getState();
    const galleryVersion = useGallery.getState().version;
    set({ status: 'searching' });
    try {
      const result = await engine.runner.embed(image.pixels, { deadlineMs: budgetMs, flip });
      const key = stageKey(result.stage);
      const budgeted = await searchGallery({ [key]: result.embedding }, topK);
      // All five embeddings for the side-by-side view, whatever the budget reached.
      const perStage = await searchGallery(await engine.runner.embedAll(image.pixels, { flip }), topK);
      const run = { stage: result.stage, stageMs: result.stageMs, totalMs: result.totalMs, overran: result.overran };
      useEngine.getState().refreshCosts();
      if (get().image !== image) return;
      set({ status: 'done', outcome: { run, budgetMs, flip, matches: budgeted[key] ?? [], perStage, galleryVersion } });
    } catch (e) {
      if (get().image !== image) return;
      set({ status: 'done' });
      reportError(`The search failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  return {
    image: null,
    status: 'idle',
    outcome: null,

    search: async (file) => {
      const engine = useEngine.getState().engine;
      if (!engine || useEngine.getState().status !== 'ready') {
        reportError(`${file.name} was not searched: the model is not loaded yet.`);
        return;
      }
      set({ status: 'decoding' });
      try {
        const decoded = await readModelImage(file, engine);
        set({ image: { fileName: file.name, thumbnail: decoded.thumbnail, pixels: decoded.pixels }, outcome: null });
      } catch (e) {
        // The previous query and its results stay as they were.
        set({ status: get().outcome ? 'done' : 'idle' });
        reportError(failureMessage('Not searched', file.name, e));
        return;
      }
      await get().rerun();
    },

    rerun: async () => {
      if (running) {
        again = true;
        return running;
      }
      running = (async () => {
        do {
          again = false;
          await runOnce();
        } while (again);
      })().finally(() => {
        running = null;
      });
      return running;
    },
  };
});

/** Searches again, shortly after the last of a burst of changes (dragging the budget slider). */
let timer: ReturnType<typeof setTimeout> | undefined;
function rerunSoon(): void {
  clearTimeout(timer);
  timer = setTimeout(() => void useQuery.getState().rerun(), 120);
}

useSettings.subscribe((s, prev) => {
  if (s.budgetMs !== prev.budgetMs || s.flip !== prev.flip || s.topK !== prev.topK) rerunSoon();
});
useGallery.subscribe((s, prev) => {
  // Not after every image of an upload: once it is done.
  if (!s.job && (s.version !== prev.version || prev.job)) rerunSoon();
});
// A backend switch waits for the search in flight: it still uses the engine about to be disposed.
onEngineChange({
  detach: () => running ?? Promise.resolve(),
  attach: async () => undefined,
});
useEngine.subscribe((s, prev) => {
  if (s.status === 'ready' && prev.status !== 'ready') rerunSoon();
});
