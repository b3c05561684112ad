// The gallery's neighbour structure for re-ranking (see kReciprocal.ts) from TF.js matMuls on the active
// backend: the G×G squared distances are made and reduced a block of rows at a time, so only the column
// maxima and each row's k1 + 1 nearest indices come back (never the G×G matrix).
import * as tf from '@tensorflow/tfjs';
import type { GalleryNeighbours } from './kReciprocal';

export interface BackendNeighboursOptions {
  /** Gallery rows per matMul (default: about 4M distances per block). */
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
  const block = options.blockRows ?? Math.max(1, Math.floor((1 << 22) / size));
  const check = () => {
    if (options.cancelled?.()) throw new RerankCancelled('gallery preparation');
  };
  const all = tf.tensor2d(matrix, [size, dim]);
  const norms = tf.tidy(() => tf.sum(tf.square(all), 1));
  // ‖a‖² + ‖b‖² − 2a·b, clamped at 0, as training/dare/metrics.euclidean (squared).
  const squared = (from: number, rows: number) =>
    tf.relu(tf.sub(tf.add(tf.reshape(tf.slice(norms, from, rows), [rows, 1]), tf.reshape(norms, [1, size])), tf.mul(2, tf.matMul(tf.slice(all, [from, 0], [rows, dim]), all, false, true))));
  try {
    // Pass 1: the column maxima (the matrix is symmetric: row maxima).
    for (let from = 0; from < size; from += block) {
      check();
      const rows = Math.min(block, size - from);
      const max = tf.tidy(() => tf.max(squared(from, rows), 1));
      maxD2.set((await max.data()) as Float32Array, from);
      max.dispose();
    }
    // Pass 2: each row's nearest by the normalised distance.
    const inverse = tf.tensor1d(maxD2.map((m) => (m > 0 ? 1 / m : 0)));
    try {
      for (let from = 0; from < size; from += block) {
        check();
        const rows = Math.min(block, size - from);
        const idx = tf.tidy(() => tf.topk(tf.neg(tf.mul(squared(from, rows), tf.reshape(inverse, [1, size]))), width).indices);
        const lists = (await idx.data()) as Int32Array;
        idx.dispose();
        for (let r = 0; r < rows; r++) selfFirst(lists.subarray(r * width, (r + 1) * width), from + r);
        knn.set(lists, from * width);
      }
    } finally {
      inverse.dispose();
    }
  } finally {
    tf.dispose([all, norms]);
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
