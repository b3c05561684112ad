// Hub-side nearest-neighbour search over the live entries, per (model, stage): brute force over one
// contiguous Float32Array of rows (float16 decoded, then L2-normalised again as the app's gallery does), loaded from the store at the first search of that pair and
// kept up to date as entries are added and deleted. Distance is the app's (src/engine/vectors.ts): the
// Euclidean distance between unit vectors, from their cosine.
import { distanceFromCosine, l2Normalise } from '../../src/engine/vectors.ts';
import { base64ToBytes, fromHalf } from '../../src/hub/protocol.ts';
import type { HubStore } from './store.ts';

/** float16 bits → float32, for every bit pattern: decoding millions of rows without a call per value. */
const HALF_TO_FLOAT = new Float32Array(65536);
for (let h = 0; h < 65536; h++) HALF_TO_FLOAT[h] = fromHalf(h);

export interface VectorMatch {
  entryId: string;
  distance: number;
}

/** One (model, stage) pair's rows; a removed row's place is taken by the last row. */
class StageMatrix {
  private data: Float32Array;
  private readonly ids: string[] = [];
  private readonly slots = new Map<string, number>();

  constructor(readonly dim: number) {
    this.data = new Float32Array(dim * 1024);
  }

  get size(): number {
    return this.ids.length;
  }

  /** Adds a row from float16 little-endian bytes. */
  add(entryId: string, halfs: Uint8Array): void {
    if (this.slots.has(entryId)) return;
    const row = this.ids.length;
    if ((row + 1) * this.dim > this.data.length) {
      const grown = new Float32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    const o = row * this.dim;
    let sum = 0;
    for (let i = 0; i < this.dim; i++) {
      const x = HALF_TO_FLOAT[halfs[2 * i] | (halfs[2 * i + 1] << 8)];
      this.data[o + i] = x;
      sum += x * x;
    }
    // float16 rounding leaves the norm ~1e-4 off 1, which √(2 − 2·cos) turns into ~1e-2 of distance.
    if (sum > 0) {
      const inv = 1 / Math.sqrt(sum);
      for (let i = 0; i < this.dim; i++) this.data[o + i] *= inv;
    }
    this.ids.push(entryId);
    this.slots.set(entryId, row);
  }

  remove(entryId: string): void {
    const row = this.slots.get(entryId);
    if (row === undefined) return;
    const last = this.ids.length - 1;
    if (row !== last) {
      this.data.copyWithin(row * this.dim, last * this.dim, (last + 1) * this.dim);
      this.ids[row] = this.ids[last];
      this.slots.set(this.ids[row], row);
    }
    this.ids.pop();
    this.slots.delete(entryId);
  }

  /** The k rows of greatest cosine with `query`, greatest first. */
  nearest(query: Float32Array, k: number): VectorMatch[] {
    const { data, dim } = this;
    const best: { row: number; cos: number }[] = [];
    for (let row = 0, o = 0; row < this.ids.length; row++, o += dim) {
      let cos = 0;
      for (let i = 0; i < dim; i++) cos += data[o + i] * query[i];
      if (best.length === k && cos <= best[k - 1].cos) continue;
      let at = best.length < k ? best.length : k - 1;
      while (at > 0 && best[at - 1].cos < cos) at--;
      best.splice(at, 0, { row, cos });
      if (best.length > k) best.pop();
    }
    return best.map(({ row, cos }) => ({ entryId: this.ids[row], distance: distanceFromCosine(cos) }));
  }
}

export class VectorIndex {
  private readonly matrices = new Map<string, StageMatrix>();

  constructor(private readonly store: Pick<HubStore, 'stageVectors'>) {}

  /** The k live entries of `modelId` nearest to `query` (L2-normalised, length `dim`) in `stage`. */
  search(modelId: string, stage: string, dim: number, query: Float32Array, k: number): VectorMatch[] {
    return this.matrix(modelId, stage, dim).nearest(l2Normalise(query), k);
  }

  /** Adds a newly live entry to the pairs already loaded (the others read it from the store when loaded). */
  added(entry: { id: string; modelId: string; embeddings: Record<string, string> }): void {
    for (const [stage, value] of Object.entries(entry.embeddings)) {
      const matrix = this.matrices.get(keyOf(entry.modelId, stage));
      const halfs = matrix && base64ToBytes(value);
      if (matrix && halfs) matrix.add(entry.id, halfs);
    }
  }

  deleted(entryId: string): void {
    for (const matrix of this.matrices.values()) matrix.remove(entryId);
  }

  private matrix(modelId: string, stage: string, dim: number): StageMatrix {
    const key = keyOf(modelId, stage);
    let matrix = this.matrices.get(key);
    if (!matrix) {
      matrix = new StageMatrix(dim);
      for (const { entryId, halfs } of this.store.stageVectors(modelId, stage)) matrix.add(entryId, halfs);
      this.matrices.set(key, matrix);
    }
    return matrix;
  }
}

function keyOf(modelId: string, stage: string): string {
  return `${stage}\u0000${modelId}`;
}
