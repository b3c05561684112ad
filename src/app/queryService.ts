// Searching the gallery with a query image: the anytime embed within the budget (which stage it reached,
// how long it took) and its top-k matches; for the per-stage view, the ranked lists of every stage's embedding.
// One embed per search: the budgeted run's pass continues past the deadline for the stages it lacks.
// The app searches again when the budget, flip, k, the gallery or the engine change (rerun).

import { SEARCH } from '../config';
import { RerankCancelled, stageKey, stageMatrix, type Engine, type EmbedResult, type Match, type Reranker, type RerankGallery, type RgbaPixels, type StageKey, type StageLayout } from '../engine';
import type { EngineHost } from './engineHost';
import type { GallerySession } from './gallerySession';
import { failureMessage, type ImageCodec } from './imageCodec';
import type { Notify } from './notify';
import { Observable } from './observable';

export interface QueryImage {
  fileName: string;
  /** Shown next to the results. */
  thumbnail: Blob;
  pixels: RgbaPixels;
}

export interface QuerySettings {
  budgetMs: number;
  flip: boolean;
  topK: number;
  /** k-reciprocal re-ranking of the budgeted embedding's matches. */
  rerank: boolean;
}

/** What became of re-ranking for one search. */
export type RerankState =
  | { state: 'off' }
  /** The plain matches are shown while the worker re-ranks. */
  | { state: 'running' }
  | { state: 'done'; queryMs: number; prepareMs: number }
  | { state: 'too-large'; entries: number }
  | { state: 'failed'; message: string };

export interface QueryOutcome {
  /** The anytime run within the budget. */
  run: Omit<EmbedResult, 'embedding' | 'embeddings' | 'completed'>;
  budgetMs: number;
  flip: boolean;
  /** Top-k for the embedding the budget produced (re-ranked when `rerank.state` is 'done'). */
  matches: Match[];
  rerank: RerankState;
  /** Top-k for every embedding (every stage, whatever the budget reached). */
  perStage: Partial<Record<StageKey, Match[]>>;
  /** The stages of the model that ran the query. */
  layout: StageLayout;
  galleryVersion: number;
}

export interface QueryServiceState {
  image: QueryImage | null;
  status: 'idle' | 'decoding' | 'searching' | 'done';
  outcome: QueryOutcome | null;
}

export interface QueryServiceDeps {
  host: EngineHost;
  gallery: GallerySession;
  codec: ImageCodec;
  notify: Notify;
  /** The search settings at the time each search runs. */
  settings(): QuerySettings;
  /** Runs k-reciprocal re-ranking off the main thread (absent: the option reports it unavailable). */
  reranker?: Reranker;
}

export class QueryService extends Observable<QueryServiceState> {
  private running: Promise<void> | null = null;
  private again = false;
  /** The gallery rows last handed to the re-ranker, per stage (rebuilt when the gallery or model changes). */
  private rerankRows: { version: string; stage: StageKey; gallery: RerankGallery } | null = null;

  constructor(private readonly deps: QueryServiceDeps) {
    super({ image: null, status: 'idle', outcome: null });
    // A backend switch waits for the search in flight: it still uses the engine about to be disposed.
    deps.host.onChange({ detach: () => this.running ?? Promise.resolve(), attach: async () => undefined });
  }

  /** Decodes `file` and searches with it; an unreadable file is reported and the previous query stays. */
  async search(file: File): Promise<void> {
    const engine = this.deps.host.ready();
    if (!engine) {
      this.deps.notify.error(`${file.name} was not searched: the model is not loaded yet.`);
      return;
    }
    this.update({ status: 'decoding' });
    try {
      const decoded = await this.deps.codec.read(file, engine.model.meta.input);
      this.update({ image: { fileName: file.name, thumbnail: decoded.thumbnail, pixels: decoded.pixels }, outcome: null });
    } catch (e) {
      // The previous query and its results stay as they were.
      this.update({ status: this.state.outcome ? 'done' : 'idle' });
      this.deps.notify.error(failureMessage('Not searched', file.name, e));
      return;
    }
    await this.rerun();
  }

  /** Searches again with the current settings (no-op without a query image or a ready engine). Calls
   * during a search make one more search after it, not one each. */
  rerun(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.runOnce();
      } while (this.again);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async runOnce(): Promise<void> {
    const { image } = this.state;
    const engine = this.deps.host.ready();
    if (!image || !engine) return;
    const { budgetMs, flip, topK, rerank } = this.deps.settings();
    const galleryVersion = this.deps.gallery.state.version;
    this.update({ status: 'searching' });
    try {
      const result = await engine.runner.embed(image.pixels, { deadlineMs: budgetMs, flip, complete: true });
      const key = stageKey(result.stage);
      // The budgeted embedding is one of `completed`: one search of the backend serves both views.
      const perStage = await this.deps.gallery.search(result.completed ?? result.embeddings, topK);
      const run = { stage: result.stage, stageMs: result.stageMs, totalMs: result.totalMs, overran: result.overran };
      this.deps.host.refreshCosts();
      if (this.state.image !== image) return;
      const plain: QueryOutcome = { run, budgetMs, flip, matches: perStage[key] ?? [], perStage, layout: engine.model.layout, galleryVersion, rerank: { state: 'off' } };
      if (!rerank || plain.matches.length === 0) {
        this.update({ status: 'done', outcome: plain });
        return;
      }
      const outcome = await this.reranked(plain, engine, result.embedding, key, topK, () => this.state.image === image);
      if (outcome && this.state.image === image) this.update({ status: 'done', outcome });
    } catch (e) {
      if (this.state.image !== image) return;
      this.update({ status: 'done' });
      this.deps.notify.error(`The search failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The outcome with its matches re-ranked (k-reciprocal, in the worker); the plain one is shown
   * meanwhile. Null when a newer search superseded this one. */
  private async reranked(plain: QueryOutcome, engine: Engine, query: Float32Array, stage: StageKey, topK: number, current: () => boolean): Promise<QueryOutcome | null> {
    const { reranker } = this.deps;
    const modelId = engine.model.modelId;
    // The rows the index searches: entries embedded by the current model.
    const entries = this.deps.gallery.state.entries.filter((e) => e.modelId === modelId);
    if (!reranker) return { ...plain, rerank: { state: 'failed', message: 're-ranking is not available here' } };
    if (entries.length > SEARCH.rerankMaxEntries) return { ...plain, rerank: { state: 'too-large', entries: entries.length } };
    this.update({ status: 'done', outcome: { ...plain, rerank: { state: 'running' } } });
    const version = `${modelId}:${plain.galleryVersion}`;
    if (this.rerankRows?.version !== version || this.rerankRows.stage !== stage) {
      this.rerankRows = { version, stage, gallery: { version, ...stageMatrix(entries, stage) } };
    }
    try {
      const r = await reranker.rerank(query, stage, this.rerankRows.gallery, topK);
      return current() ? { ...plain, matches: r.matches, rerank: { state: 'done', queryMs: r.queryMs, prepareMs: r.prepareMs } } : null;
    } catch (e) {
      if (e instanceof RerankCancelled) return null;
      return { ...plain, rerank: { state: 'failed', message: e instanceof Error ? e.message : String(e) } };
    }
  }
}
