// DaRe embeddings of Market images through the app's engine (AnytimeRunner.embedAllBatch), cached in
// .cache/curves/<weights hash>/ so that reruns with the same model export skip the forward passes.
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AnytimeRunner, RgbaPixels } from '../../src/engine/index';
import type { ReidLabel } from '../../src/protocol/index';
import { decodeImage, type MarketImage } from './market';
import { scoreQuery, type QueryScore } from './metrics';

/** One Float32Array row per image file: for DaRe every stage's embedding (the exits, then fused) end to end, for
 * a peer model its one embedding. */
export class EmbeddingCache {
  private readonly rows = new Map<string, Float32Array>();
  private dirty = false;

  private constructor(
    private readonly dir: string,
    readonly rowLength: number,
  ) {}

  static async open(dir: string, rowLength: number): Promise<EmbeddingCache> {
    const cache = new EmbeddingCache(dir, rowLength);
    if (existsSync(join(dir, 'names.json'))) {
      const names = JSON.parse(await readFile(join(dir, 'names.json'), 'utf8')) as string[];
      const bytes = await readFile(join(dir, 'embeddings.f32'));
      const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      const size = rowLength;
      if (all.length === names.length * size) names.forEach((n, i) => cache.rows.set(n, all.slice(i * size, (i + 1) * size)));
    }
    return cache;
  }

  get(file: string): Float32Array | undefined {
    return this.rows.get(file);
  }

  set(file: string, row: Float32Array): void {
    this.rows.set(file, row);
    this.dirty = true;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    await mkdir(this.dir, { recursive: true });
    const names = [...this.rows.keys()];
    const size = this.rowLength;
    const all = new Float32Array(names.length * size);
    names.forEach((n, i) => all.set(this.rows.get(n) as Float32Array, i * size));
    // Written aside then renamed: an interrupted run never leaves names and data out of step.
    await writeFile(join(this.dir, 'embeddings.f32.tmp'), all);
    await writeFile(join(this.dir, 'names.json.tmp'), JSON.stringify(names));
    await rename(join(this.dir, 'embeddings.f32.tmp'), join(this.dir, 'embeddings.f32'));
    await rename(join(this.dir, 'names.json.tmp'), join(this.dir, 'names.json'));
    this.dirty = false;
  }
}

/** Embeds the images the cache lacks, in batches, saving every few batches (long runs can be resumed). */
export async function embedMissing(
  embedBatch: (pixels: RgbaPixels[]) => Promise<Float32Array[]>,
  root: string,
  images: readonly MarketImage[],
  cache: EmbeddingCache,
  onProgress: (done: number, total: number) => void,
  batchSize = 32,
): Promise<void> {
  const missing = images.filter((im) => !cache.get(im.file));
  for (let i = 0; i < missing.length; i += batchSize) {
    const batch = missing.slice(i, i + batchSize);
    const rows = await embedBatch(await Promise.all(batch.map((im) => decodeImage(root, im))));
    batch.forEach((im, n) => cache.set(im.file, rows[n]));
    onProgress(Math.min(i + batchSize, missing.length), missing.length);
    if ((i / batchSize) % 50 === 49) await cache.save();
  }
  await cache.save();
}

/** The DaRe engine's batch embedder: every stage's embedding of each image, end to end in the model's
 * step order (its layout's ids). */
export function dareEmbedder(runner: AnytimeRunner): (pixels: RgbaPixels[]) => Promise<Float32Array[]> {
  return async (pixels) => {
    const out = await runner.embedAllBatch(pixels);
    return out.map((all) => {
      const { keys } = runner.model.layout;
      const dim = all[keys[0]].length;
      const row = new Float32Array(keys.length * dim);
      keys.forEach((key, s) => row.set(all[key], s * dim));
      return row;
    });
  };
}

/** [images, dim] matrix of slice `part` (a DaRe exit; 0 for a peer) of each image's cached row. */
export function embeddingMatrix(images: readonly MarketImage[], cache: EmbeddingCache, dim: number, part = 0): Float32Array {
  const out = new Float32Array(images.length * dim);
  images.forEach((im, i) => out.set((cache.get(im.file) as Float32Array).subarray(part * dim, (part + 1) * dim), i * dim));
  return out;
}

/** Scores of each query against the gallery with L2-normalised embeddings and Euclidean distance
 * (√(2 − 2·cos), the dot products on the active TF.js backend). Queries without a valid match are null. */
export async function scoreAll(
  queries: Float32Array,
  queryLabels: readonly ReidLabel[],
  gallery: Float32Array,
  galleryLabels: readonly ReidLabel[],
  dim: number,
  chunk = 64,
): Promise<(QueryScore | null)[]> {
  const g = tf.tensor2d(gallery, [galleryLabels.length, dim]);
  const out: (QueryScore | null)[] = [];
  try {
    for (let start = 0; start < queryLabels.length; start += chunk) {
      const rows = Math.min(chunk, queryLabels.length - start);
      const d = tf.tidy(() => {
        const q = tf.tensor2d(queries.subarray(start * dim, (start + rows) * dim), [rows, dim]);
        return tf.sqrt(tf.relu(tf.sub(2, tf.mul(2, tf.matMul(q, g, false, true)))));
      });
      const values = (await d.data()) as Float32Array;
      d.dispose();
      const n = galleryLabels.length;
      for (let r = 0; r < rows; r++) out.push(scoreQuery(values.subarray(r * n, (r + 1) * n), queryLabels[start + r], galleryLabels));
    }
  } finally {
    g.dispose();
  }
  return out;
}
