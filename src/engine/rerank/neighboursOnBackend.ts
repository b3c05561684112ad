// The gallery's neighbour structure for re-ranking (see kReciprocal.ts) from TF.js matMuls on the active
// backend, a block of rows at a time, so only the column maxima and each row's k1 + 1 nearest indices
// come back (never the G×G matrix).
//
// Squared distances come straight out of one matMul of augmented rows, [a, ‖a‖², 1] · [−2b, 1, ‖b‖²] =
// ‖a‖² + ‖b‖² − 2a·b (as training/dare/metrics.euclidean, squared); scaling the right-hand rows by
// −1 / max_i d²(i, b) turns the second pass's product into the negated normalised distances topk wants.
// The right-hand side is uploaded transposed: wasm's matMul with transposeB is ~7× slower.
import * as tf from '@tensorflow/tfjs';
import type { GalleryNeighbours } from './kReciprocal';

export interface BackendNeighboursOptions {
  /** Gallery rows per matMul (default: about 1M distances per block, ~35 ms of main thread on wasm at 10k). */
  blockRows?: number;
  /** Checked between blocks: true stops the work (the promise rejects with RerankCancelled). */
  cancelled?: () => boolean;
}

export class RerankCancelled extends Error {
  constructor(what = 're-ranking') {
    super(`${what} was superseded by a newer request`);
    this.name = 'RerankCancelled';
  }
}

export async function galleryNeighboursOnBackend(matrix: Float32Array, dim: number, k1: number, options: BackendNeighboursOptions = {}): Promise<GalleryNeighbours> {
  const size = matrix.length / dim;
  const width = Math.min(k1 + 1, size);
  const maxD2 = new Float32Array(size);
  const knn = new Int32Array(size * width);
  if (size === 0) return { size, width, maxD2, knn };
  const block = options.blockRows ?? Math.max(1, Math.floor((1 << 20) / size));
  // Between blocks: a macrotask, so that on a synchronous backend (wasm, cpu) the page renders and handles
  // input between blocks (an awaited data() there resolves at once).
  const check = async () => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (options.cancelled?.()) throw new RerankCancelled('gallery preparation');
  };
  const cols = dim + 2;
  const left = new Float32Array(size * cols);
  const norms = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    let s = 0;
    for (let t = 0; t < dim; t++) s += matrix[i * dim + t] * matrix[i * dim + t];
    norms[i] = s;
    left.set(matrix.subarray(i * dim, (i + 1) * dim), i * cols);
    left[i * cols + dim] = s;
    left[i * cols + dim + 1] = 1;
  }
  /** [cols, size]: column j = scale[j] · [−2b_j, 1, ‖b_j‖²]. */
  const right = (scale: (j: number) => number) => {
    const out = new Float32Array(cols * size);
    for (let j = 0; j < size; j++) {
      const c = scale(j);
      for (let t = 0; t < dim; t++) out[t * size + j] = -2 * c * matrix[j * dim + t];
      out[dim * size + j] = c;
      out[(dim + 1) * size + j] = c * norms[j];
    }
    return tf.tensor2d(out, [cols, size]);
  };
  const rowsOf = (a: tf.Tensor2D, from: number, rows: number) => tf.slice(a, [from, 0], [rows, cols]);
  const a = tf.tensor2d(left, [size, cols]);
  try {
    // Pass 1: the column maxima (the matrix is symmetric: row maxima).
    const plain = right(() => 1);
    try {
      for (let from = 0; from < size; from += block) {
        await check();
        const rows = Math.min(block, size - from);
        const max = tf.tidy(() => tf.max(tf.matMul(rowsOf(a, from, rows), plain), 1));
        maxD2.set((await max.data()) as Float32Array, from);
        max.dispose();
      }
    } finally {
      plain.dispose();
    }
    // Pass 2: each row's nearest by the normalised distance.
    const scaled = right((j) => (maxD2[j] > 0 ? -1 / maxD2[j] : 0));
    try {
      for (let from = 0; from < size; from += block) {
        await check();
        const rows = Math.min(block, size - from);
        const idx = tf.tidy(() => tf.topk(tf.matMul(rowsOf(a, from, rows), scaled), width).indices);
        const lists = (await idx.data()) as Int32Array;
        idx.dispose();
        for (let r = 0; r < rows; r++) selfFirst(lists.subarray(r * width, (r + 1) * width), from + r);
        knn.set(lists, from * width);
      }
    } finally {
      scaled.dispose();
    }
  } finally {
    a.dispose();
  }
  return { size, width, maxD2, knn };
}

/** Puts row `self` first in its own list (its distance is 0 by definition; rounding, or exact duplicates,
 * can put it later or push it out). */
function selfFirst(list: Int32Array, self: number): void {
  const at = list.indexOf(self);
  list.copyWithin(1, 0, at < 0 ? list.length - 1 : at);
  list[0] = self;
}
