// The one API the app's query service calls for k-reciprocal re-ranking (kReciprocal.ts):
//
//   const reranker = createReranker();                        // spawns the worker (once)
//   const { matches } = await reranker.rerank(query, 'fused', gallery, 10);
//
// `gallery` = { version, ids, embeddings }: the stage's [ids.length, dim] L2-normalised rows (see
// stageMatrix) and a version that changes whenever the entries do. The first call for a (stage, version)
// prepares the gallery: the G×G distance products on the active TF.js backend, a block of rows per
// await, then the sparse structure in the worker; later calls only do the per-query work, in the worker.
// A newer rerank() call supersedes the older ones: they reject with RerankCancelled (check with
// `error instanceof RerankCancelled` and drop them).
import type { Match, StageKey } from '../types';
import { DEFAULT_RERANK_PARAMS, type GalleryNeighbours, type RerankParams } from './kReciprocal';
import { galleryNeighboursOnBackend, RerankCancelled } from './neighboursOnBackend';
import type { HostMessage, HostReply, HostRequest, MessageEndpoint } from './protocol';

export { RerankCancelled };

export interface RerankGallery {
  /** Changes whenever the gallery's entries change (the prepared structure is kept per stage and version). */
  version: string | number;
  ids: readonly string[];
  /** [ids.length, dim] row-major, L2-normalised. */
  embeddings: Float32Array;
}

export interface RerankResult {
  /** The k best entries by re-ranked distance, nearest first. */
  matches: Match[];
  /** ms the worker spent on this query. */
  queryMs: number;
  /** ms spent preparing the gallery for this call (0 when it was prepared already). */
  prepareMs: number;
}

export interface RerankerOptions {
  /** Where the host runs (default: a new module Worker on rerank.worker.ts; Node tests pass a MessagePort). */
  endpoint?: MessageEndpoint;
  params?: RerankParams;
  /** The gallery's neighbour structure (default: TF.js matMuls on the active backend). */
  neighbours?: (matrix: Float32Array, dim: number, k1: number, cancelled: () => boolean) => Promise<GalleryNeighbours>;
}

export interface Reranker {
  rerank(query: Float32Array, stage: StageKey, gallery: RerankGallery, k: number): Promise<RerankResult>;
  /** Stops the worker; pending calls reject. */
  dispose(): void;
}

/** A stage's rows of gallery entries as a RerankGallery's ids + embeddings. */
export function stageMatrix(entries: readonly { id: string; embeddings: Partial<Record<StageKey, Float32Array>> }[], stage: StageKey): { ids: string[]; embeddings: Float32Array } {
  const dim = entries[0]?.embeddings[stage]?.length ?? 0;
  const embeddings = new Float32Array(entries.length * dim);
  entries.forEach((e, i) => {
    const row = e.embeddings[stage];
    if (!row || row.length !== dim) throw new Error(`entry ${e.id} has no ${dim}-value '${stage}' embedding`);
    embeddings.set(row, i * dim);
  });
  return { ids: entries.map((e) => e.id), embeddings };
}

export function createReranker(options: RerankerOptions = {}): Reranker {
  const params = options.params ?? DEFAULT_RERANK_PARAMS;
  const endpoint = options.endpoint ?? (new Worker(new URL('./rerank.worker.ts', import.meta.url), { type: 'module' }) as unknown as MessageEndpoint);
  const neighbours = options.neighbours ?? ((m, dim, k1, cancelled) => galleryNeighboursOnBackend(m, dim, k1, { cancelled }));
  const waiting = new Map<number, { resolve: (r: HostReply) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let latest = 0;
  let disposed = false;
  /** Per stage: the gallery version the host holds or is being given, and when it is ready. */
  const prepared = new Map<StageKey, { version: string; ready: Promise<number> }>();
  /** The query now in the worker: the next one waits for it, so the worker never queues stale work. */
  let inFlight: Promise<unknown> = Promise.resolve();

  endpoint.onmessage = (event: MessageEvent) => {
    const message = event.data as HostReply;
    const w = waiting.get(message.id);
    waiting.delete(message.id);
    if (!w) return;
    if (message.type === 'error') w.reject(new Error(message.message));
    else w.resolve(message);
  };

  const send = <T extends HostReply['type']>(request: HostMessage): Promise<Extract<HostReply, { type: T }>> => {
    if (disposed) return Promise.reject(new Error('reranker used after dispose()'));
    const id = ++nextId;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (r: HostReply) => void, reject });
      endpoint.postMessage({ ...request, id } satisfies HostRequest);
    });
  };

  const prepare = (stage: StageKey, gallery: RerankGallery, dim: number): Promise<number> => {
    const version = String(gallery.version);
    const held = prepared.get(stage);
    if (held?.version === version) return held.ready.then(() => 0);
    const entry = { version, ready: Promise.resolve(0) };
    prepared.set(stage, entry);
    const superseded = () => disposed || prepared.get(stage) !== entry;
    const matrix = gallery.embeddings.slice();
    entry.ready = (async () => {
      const start = performance.now();
      const structure = await neighbours(matrix, dim, params.k1, superseded);
      if (superseded()) throw new RerankCancelled('gallery preparation');
      await send<'ready'>({ type: 'gallery', stage, version, dim, matrix, neighbours: structure, params });
      return performance.now() - start;
    })();
    // A failed preparation is not kept: the next call tries again.
    entry.ready.catch(() => prepared.get(stage) === entry && prepared.delete(stage));
    return entry.ready;
  };

  return {
    async rerank(query, stage, gallery, k) {
      const seq = ++latest;
      const size = gallery.ids.length;
      if (size === 0) return { matches: [], queryMs: 0, prepareMs: 0 };
      if (gallery.embeddings.length % size !== 0) throw new Error(`gallery embeddings (${gallery.embeddings.length} values) are not ${size} rows`);
      const dim = gallery.embeddings.length / size;
      if (query.length !== dim) throw new Error(`query must have ${dim} values, got ${query.length}`);
      const prepareMs = await prepare(stage, gallery, dim);
      const previous = inFlight;
      const turn = previous.then(async () => {
        if (seq !== latest) throw new RerankCancelled();
        return send<'result'>({ type: 'query', stage, version: String(gallery.version), query: query.slice(), k });
      });
      inFlight = turn.catch(() => undefined);
      const result = await turn;
      if (seq !== latest) throw new RerankCancelled();
      const matches = Array.from(result.indices, (slot, i) => ({ id: gallery.ids[slot], distance: result.distances[i] }));
      return { matches, queryMs: result.ms, prepareMs };
    },
    dispose() {
      disposed = true;
      for (const w of waiting.values()) w.reject(new Error('reranker disposed'));
      waiting.clear();
      const closable = endpoint as MessageEndpoint & { terminate?: () => void; close?: () => void };
      closable.terminate?.();
      closable.close?.();
    },
  };
}
