// Stream mode: the gallery replayed as a budgeted query stream (DaRe §4) with the policy and average budget
// the user picks, on this device's calibrated costs. Keeps the last replay (per-query exits, running
// average cost, exit histogram) and the accuracy–budget curves of the user's own gallery. The replay
// itself is pure (streamReplay.ts); this service feeds it the gallery and the costs, and reports.

import { STREAM } from '../config';
import { costsLayout, type StageCosts, type StageKey } from '../engine';
import { cumulativeMs, seededPermutation, type RoutingPolicy } from '../engine/stream';
import { labelOf } from '../protocol';
import type { EngineHost } from './engineHost';
import type { GallerySession } from './gallerySession';
import type { Notify } from './notify';
import { Observable } from './observable';
import { queryOutcomes, replayCurves, ReplayGallery, replayStream, type ReplayCurves, type ReplayEntry, type ReplayQuery, type StreamReplay } from './streamReplay';
import { yieldToUi } from './yieldToUi';

/** At most this many images act as queries (each is one search of the whole gallery at every exit). */
export const MAX_STREAM_QUERIES = STREAM.maxQueries;

/** Queries compared between two progress reports (and two yields to the UI). */
const PROGRESS_EVERY = 20;

/** The replay's query order is fixed, so that replaying the same gallery twice gives the same stream. */
const QUERY_ORDER_SEED = 7;

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

/** The stream's exits and the cumulative ms of each on this device. */
export interface ExitCosts {
  exits: readonly StageKey[];
  costs: number[];
}

export interface StreamServiceState {
  policy: RoutingPolicy;
  /** Average budget per query in ms; null until chosen (then the middle of the costs' range is used). */
  budgetMs: number | null;
  status: 'idle' | 'running';
  /** Fraction of the queries compared with the gallery, while running. */
  progress: number;
  run: StreamRun | null;
  /** From the engine's calibration; null before it has one (no replay until then). */
  exitCosts: ExitCosts | null;
}

export interface StreamServiceDeps {
  host: EngineHost;
  gallery: GallerySession;
  notify: Notify;
  /** Called between batches of queries so that a long replay does not freeze the page. */
  yieldToUi?: () => Promise<void>;
}

/** The stream's exits and their costs from a calibration (null: none yet). */
export function exitCostsOf(costs: StageCosts | null): ExitCosts | null {
  return costs ? { exits: costsLayout(costs).streamExits, costs: cumulativeMs(costs) } : null;
}

export class StreamService extends Observable<StreamServiceState> {
  private readonly pause: () => Promise<void>;
  /** The replay in progress: a backend switch waits for it, since it searches the index on that backend. */
  private running: Promise<void> | null = null;

  constructor(private readonly deps: StreamServiceDeps) {
    super({ policy: 'margin', budgetMs: null, status: 'idle', progress: 0, run: null, exitCosts: exitCostsOf(deps.host.state.costs) });
    this.pause = deps.yieldToUi ?? yieldToUi;
    // Every real search teaches the calibration: the panel's budget range follows it.
    deps.host.subscribe((s, prev) => {
      if (s.costs !== prev.costs) this.update({ exitCosts: exitCostsOf(s.costs) });
    });
    deps.host.onChange({ detach: () => this.running ?? Promise.resolve(), attach: async () => undefined });
  }

  setPolicy(policy: RoutingPolicy): void {
    this.update({ policy });
  }

  setBudget(budgetMs: number): void {
    this.update({ budgetMs });
  }

  /** Replays the gallery as a stream (no-op before the calibration or while a replay runs); a failure is
   * reported and the previous run stays. */
  replay(): Promise<void> {
    if (!this.state.exitCosts || this.state.status === 'running') return this.running ?? Promise.resolve();
    const run = this.replayNow(this.state.exitCosts).finally(() => {
      this.running = null;
    });
    this.running = run;
    return run;
  }

  private async replayNow(stream: ExitCosts): Promise<void> {
    const { exits, costs } = stream;
    const entries: ReplayEntry[] = this.deps.gallery.state.entries.map((e) => ({ ...labelOf(e), id: e.id, fileName: e.fileName, embeddings: e.embeddings }));
    const gallery = new ReplayGallery(entries);
    const persons = entries.filter((e) => e.kind === 'person');
    const { policy } = this.state;
    const budgetMs = this.state.budgetMs ?? (costs[0] + costs[costs.length - 1]) / 2;
    this.update({ status: 'running', progress: 0, budgetMs });
    try {
      const picked = seededPermutation(persons.length, QUERY_ORDER_SEED).slice(0, MAX_STREAM_QUERIES);
      const queries: ReplayQuery[] = [];
      for (let n = 0; n < picked.length; n++) {
        const q = await queryOutcomes(persons[picked[n]], gallery, (embeddings, k) => this.deps.gallery.search(embeddings, k), exits);
        if (q) queries.push(q);
        if (n % PROGRESS_EVERY === PROGRESS_EVERY - 1) {
          this.update({ progress: (n + 1) / picked.length });
          await this.pause();
        }
      }
      const replay = replayStream(queries, costs, budgetMs, policy);
      // The curves replay the stream once per policy and budget point: let the page paint first.
      await this.pause();
      const curves = replayCurves(queries, costs);
      this.update({ run: { ...replay, policy, budgetMs, exitStages: exits, costs, skipped: picked.length - queries.length, curves } });
    } catch (e) {
      this.deps.notify.error(`The stream replay failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.update({ status: 'idle', progress: 0 });
    }
  }
}
