// Stream mode: the gallery replayed as a budgeted query stream (DaRe §4) with the policy and average budget
// the user picks, on this device's calibrated costs. Keeps the last replay (per-query exits, running
// average cost, exit histogram) and the accuracy–budget curves of the user's own gallery.
import { create } from 'zustand';
import { STREAM } from '../config';
import { costsLayout, type StageKey } from '../engine';
import { cumulativeMs, seededPermutation, type RoutingPolicy } from '../engine/stream';
import { useEngine } from './engine';
import { labelOf } from '../protocol';
import { useGallery } from './gallery';
import { reportError } from './notices';
import { queryOutcomes, replayCurves, ReplayGallery, replayStream, type ReplayCurves, type ReplayEntry, type ReplayQuery, type StreamReplay } from './streamReplay';
import { yieldToUi } from '../app/yieldToUi';
import { gallerySession } from '../services';

/** At most this many images act as queries (each is one search of the whole gallery at every exit). */
export const MAX_STREAM_QUERIES = STREAM.maxQueries;

export interface StreamRun extends StreamReplay {
  policy: RoutingPolicy;
  budgetMs: number;
  /** The stream's exits (the model layout's streamExits: every exit but the last, then the full model). */
  exitStages: readonly StageKey[];
  /** Cumulative ms of each exit on this device. */
  costs: number[];
  /** Persons' images that could not be queries (no other image of their person from another camera). */
  skipped: number;
  curves: ReplayCurves;
}

interface StreamState {
  policy: RoutingPolicy;
  /** Average budget per query in ms; null until chosen (then the middle of the costs' range is used). */
  budgetMs: number | null;
  status: 'idle' | 'running';
  /** Fraction of the queries compared with the gallery, while running. */
  progress: number;
  run: StreamRun | null;
  setPolicy(policy: RoutingPolicy): void;
  setBudget(ms: number): void;
  replay(): Promise<void>;
}

/** The stream's exits and their costs in ms from the engine's calibration, or null before it has one. */
export function streamCosts(): { exits: readonly StageKey[]; costs: number[] } | null {
  const costs = useEngine.getState().costs;
  return costs ? { exits: costsLayout(costs).streamExits, costs: cumulativeMs(costs) } : null;
}

export const useStream = create<StreamState>()((set, get) => ({
  policy: 'margin',
  budgetMs: null,
  status: 'idle',
  progress: 0,
  run: null,
  setPolicy: (policy) => set({ policy }),
  setBudget: (budgetMs) => set({ budgetMs }),

  replay: async () => {
    const stream = streamCosts();
    if (!stream || get().status === 'running') return;
    const { exits, costs } = stream;
    const entries: ReplayEntry[] = useGallery.getState().entries.map((e) => ({ ...labelOf(e), id: e.id, fileName: e.fileName, embeddings: e.embeddings }));
    const gallery = new ReplayGallery(entries);
    const persons = entries.filter((e) => e.kind === 'person');
    const { policy } = get();
    const budgetMs = get().budgetMs ?? (costs[0] + costs[costs.length - 1]) / 2;
    set({ status: 'running', progress: 0, budgetMs });
    try {
      const picked = seededPermutation(persons.length, 7).slice(0, MAX_STREAM_QUERIES);
      const queries: ReplayQuery[] = [];
      for (let n = 0; n < picked.length; n++) {
        const q = await queryOutcomes(persons[picked[n]], gallery, (queries, k) => gallerySession.search(queries, k), exits);
        if (q) queries.push(q);
        if (n % 20 === 19) {
          set({ progress: (n + 1) / picked.length });
          await yieldToUi();
        }
      }
      const replay = replayStream(queries, costs, budgetMs, policy);
      await yieldToUi();
      const curves = replayCurves(queries, costs);
      set({ run: { ...replay, policy, budgetMs, exitStages: exits, costs, skipped: picked.length - queries.length, curves } });
    } catch (e) {
      reportError(`The stream replay failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      set({ status: 'idle', progress: 0 });
    }
  },
}));
