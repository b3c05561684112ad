// The gallery index: per stage id, an [N, d] matrix of L2-normalised embeddings kept on the backend.
//
// Each matrix is a list of chunks of `chunkRows` rows (all full but the last), so growing it never
// copies more than one chunk. New rows wait in a JS buffer and are uploaded at the next search (or when
// a chunk's worth has accumulated). A search is one matMul per chunk and a topk: only k scores and
// indices come back from the backend.
import * as tf from '@tensorflow/tfjs';
import { stageKey, type Match, type StageEmbeddings, type StageId, type StageKey } from './types';
import { distanceFromCosine, l2Normalise } from './vectors';

export interface GalleryIndexOptions {
  /** The stages every entry carries an embedding for: the model's layout keys (StageLayout.keys). */
  stages: readonly StageKey[];
  /** Rows per backend chunk (default 4096). */
  chunkRows?: number;
  /** Embedding size (default 128). */
  dim?: number;
  /** Scores as [1, d] × [rows, d]ᵀ (true) or [rows, d] × [d, 1] (false). Default: by backend, as measured
   * fastest: the second on wasm (~1.7×), the first on WebGPU (~11×: its tiled matMul wastes a whole tile
   * on a 1-wide output). */
  queryFirst?: boolean;
}

/** Removing up to this many entries at once swaps the last rows into their places (copying one or two
 * chunks each); more are removed by compacting every matrix once. */
const SWAP_REMOVE_MAX = 32;

const CPU_BACKENDS = new Set(['wasm', 'cpu']);

export class GalleryIndex {
  readonly chunkRows: number;
  readonly dim: number;
  readonly stages: readonly StageKey[];
  private readonly queryFirst?: boolean;
  private readonly ids: string[] = [];
  private readonly slots = new Map<string, number>();
  /** Bumped by every change to `ids`. */
  private version = 0;
  private snapshot: { version: number; ids: readonly string[] } | null = null;
  private readonly chunks: Record<StageKey, tf.Tensor2D[]>;
  private pending: Record<StageKey, Float32Array>;
  /** Entries already on the backend (the others are in `pending`). */
  private uploaded = 0;
  private disposed = false;

  constructor(options: GalleryIndexOptions) {
    if (options.stages.length === 0) throw new Error('a GalleryIndex needs at least one stage');
    this.stages = [...options.stages];
    this.chunks = Object.fromEntries(this.stages.map((k) => [k, [] as tf.Tensor2D[]])) as Record<StageKey, tf.Tensor2D[]>;
    this.pending = this.emptyPending();
    this.chunkRows = options.chunkRows ?? 4096;
    this.dim = options.dim ?? 128;
    this.queryFirst = options.queryFirst;
  }

  get size(): number {
    return this.ids.length;
  }

  has(id: string): boolean {
    return this.slots.has(id);
  }

  private emptyPending(): Record<StageKey, Float32Array> {
    return Object.fromEntries(this.stages.map((k) => [k, new Float32Array(0)])) as Record<StageKey, Float32Array>;
  }

  /** Adds an entry (every stage's L2-normalised embedding); an existing id is replaced. */
  add(id: string, embeddings: Record<StageKey, Float32Array>): void {
    this.assertLive();
    for (const k of this.stages) {
      const v = embeddings[k];
      if (!v || v.length !== this.dim) throw new Error(`entry ${id}: embedding '${k}' must have ${this.dim} values`);
    }
    if (this.slots.has(id)) this.remove(id);
    const row = this.ids.length - this.uploaded;
    for (const k of this.stages) {
      if (this.pending[k].length < (row + 1) * this.dim) this.pending[k] = grow(this.pending[k], Math.min(this.chunkRows, Math.max(64, 2 * row)) * this.dim);
      this.pending[k].set(embeddings[k], row * this.dim);
    }
    this.slots.set(id, this.ids.length);
    this.ids.push(id);
    this.version++;
    if (row + 1 >= this.chunkRows) this.upload();
  }

  addMany(entries: Iterable<{ id: string; embeddings: Record<StageKey, Float32Array> }>): void {
    for (const e of entries) this.add(e.id, e.embeddings);
  }

  /** Removes entries by id (unknown ids are ignored); returns how many were removed. */
  remove(ids: string | Iterable<string>): number {
    this.assertLive();
    const gone = new Set(typeof ids === 'string' ? [ids] : ids);
    for (const id of gone) if (!this.slots.has(id)) gone.delete(id);
    if (gone.size === 0) return 0;
    this.upload();
    if (gone.size <= SWAP_REMOVE_MAX) for (const id of gone) this.swapRemove(id);
    else this.compactWithout(gone);
    return gone.size;
  }

  clear(): void {
    this.remove([...this.ids]);
  }

  /** The k nearest entries to `query` among the `stage` embeddings, nearest first (distance = Euclidean
   * between L2-normalised vectors; the query is normalised here). */
  async search(stage: StageId, query: Float32Array, k: number): Promise<Match[]> {
    return (await this.searchAll({ [stageKey(stage)]: query }, k))[stageKey(stage)] ?? [];
  }

  /** One ranked list per stage present in `queries` (e.g. an EmbedResult's embeddings), all computed on
   * the backend before any is read back. */
  async searchAll(queries: StageEmbeddings, k: number): Promise<Partial<Record<StageKey, Match[]>>> {
    this.assertLive();
    this.upload();
    const keys = this.stages.filter((key) => queries[key] !== undefined);
    const top = Math.min(Math.floor(k), this.size);
    if (top <= 0) return Object.fromEntries(keys.map((key) => [key, []]));
    for (const key of keys) if (queries[key]!.length !== this.dim) throw new Error(`query '${key}' must have ${this.dim} values`);
    const ids = this.idsSnapshot(); // the slots may move while the scores are read back
    const queryFirst = this.queryFirst ?? !CPU_BACKENDS.has(tf.getBackend());
    const results = tf.tidy(() =>
      keys.map((key) => {
        const q = tf.tensor2d(l2Normalise(queries[key]!), queryFirst ? [1, this.dim] : [this.dim, 1]);
        const parts = this.chunks[key].map((c) => (queryFirst ? tf.matMul(q, c, false, true) : tf.matMul(c, q)));
        const cosines = tf.reshape(parts.length === 1 ? parts[0] : tf.concat(parts, queryFirst ? 1 : 0), [-1]);
        const { values, indices } = tf.topk(cosines, top);
        return [values, indices];
      }),
    );
    try {
      const data = await Promise.all(results.flat().map((t) => t.data()));
      return Object.fromEntries(
        keys.map((key, i) => {
          const cos = data[2 * i];
          const idx = data[2 * i + 1];
          return [key, Array.from(idx, (slot, j) => ({ id: ids[slot], distance: distanceFromCosine(cos[j]) }))];
        }),
      );
    } finally {
      tf.dispose(results.flat());
    }
  }

  /** Frees the backend memory; the index cannot be used afterwards. */
  dispose(): void {
    for (const k of this.stages) tf.dispose(this.chunks[k]);
    this.disposed = true;
  }

  /** A copy of the slot → id list, made again only after a change. */
  private idsSnapshot(): readonly string[] {
    if (this.snapshot?.version !== this.version) this.snapshot = { version: this.version, ids: [...this.ids] };
    return this.snapshot.ids;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('GalleryIndex used after dispose()');
  }

  /** Moves the pending rows to the backend: topping up the last chunk, then new chunks. */
  private upload(): void {
    const n = this.ids.length - this.uploaded;
    if (n === 0) return;
    for (const k of this.stages) {
      const list = this.chunks[k];
      let from = 0;
      const last = list.at(-1);
      const room = last ? this.chunkRows - last.shape[0] : 0;
      if (last && room > 0) {
        from = Math.min(room, n);
        const rows = this.pending[k].slice(0, from * this.dim);
        list[list.length - 1] = tf.tidy(() => tf.concat([last, tf.tensor2d(rows, [from, this.dim])]));
        last.dispose();
      }
      for (; from < n; from += this.chunkRows) {
        const count = Math.min(this.chunkRows, n - from);
        list.push(tf.tensor2d(this.pending[k].slice(from * this.dim, (from + count) * this.dim), [count, this.dim]));
      }
    }
    this.uploaded = this.ids.length;
    if (this.pending[this.stages[0]].length > 64 * this.dim) this.pending = this.emptyPending();
  }

  /** Removes one uploaded entry by moving the last row into its slot. */
  private swapRemove(id: string): void {
    const slot = this.slots.get(id)!;
    const lastSlot = this.ids.length - 1;
    const [c, r] = [Math.floor(slot / this.chunkRows), slot % this.chunkRows];
    for (const k of this.stages) {
      const list = this.chunks[k];
      const lastChunk = list[list.length - 1];
      const lastRow = lastChunk.shape[0] - 1;
      if (slot !== lastSlot) {
        const old = list[c];
        list[c] = tf.tidy(() => {
          const moved = tf.slice(lastChunk, [lastRow, 0], [1, this.dim]);
          const parts = [tf.slice(old, [0, 0], [r, this.dim]), moved, tf.slice(old, [r + 1, 0], [old.shape[0] - r - 1, this.dim])];
          return tf.concat(parts.filter((p) => p.shape[0] > 0));
        });
        old.dispose();
      }
      const tail = list[list.length - 1];
      if (lastRow === 0) list.pop();
      else list[list.length - 1] = tf.slice(tail, [0, 0], [lastRow, this.dim]);
      tail.dispose();
    }
    const movedId = this.ids[lastSlot];
    this.ids[slot] = movedId;
    this.slots.set(movedId, slot);
    this.ids.pop();
    this.slots.delete(id);
    this.version++;
    this.uploaded = this.ids.length;
  }

  /** Removes many uploaded entries at once: gathers the kept rows (in order) into fresh chunks. */
  private compactWithout(gone: ReadonlySet<string>): void {
    const keep: number[] = [];
    this.ids.forEach((id, slot) => {
      if (!gone.has(id)) keep.push(slot);
    });
    for (const k of this.stages) {
      const old = this.chunks[k];
      this.chunks[k] = tf.tidy(() => {
        if (keep.length === 0) return [];
        const all = old.length === 1 ? old[0] : tf.concat(old);
        const kept = tf.gather(all, tf.tensor1d(keep, 'int32'));
        const sizes: number[] = [];
        for (let from = 0; from < keep.length; from += this.chunkRows) sizes.push(Math.min(this.chunkRows, keep.length - from));
        return sizes.length === 1 ? [kept as tf.Tensor2D] : (tf.split(kept, sizes) as tf.Tensor2D[]);
      });
      tf.dispose(old);
    }
    const keptIds = keep.map((slot) => this.ids[slot]);
    this.ids.length = 0;
    this.slots.clear();
    keptIds.forEach((id, slot) => {
      this.ids.push(id);
      this.slots.set(id, slot);
    });
    this.version++;
    this.uploaded = this.ids.length;
  }
}

function grow(buffer: Float32Array, length: number): Float32Array {
  const out = new Float32Array(Math.max(length, buffer.length));
  out.set(buffer);
  return out;
}
