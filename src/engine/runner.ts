// The anytime runner: stage after stage while the calibrated cost of the next step still fits the deadline.
import * as tf from '@tensorflow/tfjs';
import type { Calibration } from './calibration';
import type { DareModel } from './model';
import type { PixelSource } from './pixels';
import { finishEmbeddings, prepareBatch, readFloat32, runMonolithic, StagedPass } from './staged';
import { stageKey, type EmbedOptions, type EmbedResult, type StageEmbeddings, type StageKey } from './types';

export interface EmbedAllOptions {
  /** Average the embeddings of each image and its mirror. */
  flip?: boolean;
}

export class AnytimeRunner {
  /** Calls run one at a time (in call order), so that step timings are not polluted by each other. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly model: DareModel,
    readonly calibration: Calibration,
  ) {}

  /** Embeds one image within `deadlineMs` (measured from this call, time queued behind other calls
   * included): stage 1 always runs; each further step (the later stages, then the fusion) only starts when
   * its calibrated cost fits in the time left. Real step times feed the calibration. With `complete`,
   * the same pass then runs on to the end: the result describes the budgeted run, and `completed` holds
   * every embedding (the budgeted ones are not computed twice). */
  embed(pixels: PixelSource, options: EmbedOptions): Promise<EmbedResult> {
    const t0 = performance.now();
    return this.enqueue(() => this.embedNow(pixels, options, t0));
  }

  /** Every stage's embedding of one image (for a gallery entry), in one forward pass. */
  async embedAll(pixels: PixelSource, options: EmbedAllOptions = {}): Promise<Record<StageKey, Float32Array>> {
    const [all] = await this.embedAllBatch([pixels], options);
    return all;
  }

  /** Every stage's embedding of each image, batched: faster per image when importing many. */
  embedAllBatch(images: readonly PixelSource[], options: EmbedAllOptions = {}): Promise<Record<StageKey, Float32Array>[]> {
    return this.enqueue(() => this.embedAllNow(images, options.flip ?? false));
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async embedNow(pixels: PixelSource, { deadlineMs, flip = false, complete = false }: EmbedOptions, t0: number): Promise<EmbedResult> {
    const costs = this.calibration.stepCosts(flip);
    const pass = new StagedPass(this.model, [pixels], flip);
    const embeddings: StageEmbeddings = {};
    const stageMs: number[] = [];
    let overran = false;
    let last: { stage: EmbedResult['stage']; embedding: Float32Array } | null = null;
    let budgeted: Omit<EmbedResult, 'completed'> | null = null;
    try {
      while (pass.done < this.model.layout.stepCount) {
        const i = pass.done;
        if (!budgeted && i > 0 && performance.now() - t0 + costs[i] > deadlineMs) {
          budgeted = { ...last!, embeddings: { ...embeddings }, stageMs: [...stageMs], totalMs: performance.now() - t0, overran };
          if (!complete) break;
        }
        const { stage, values, ms } = await pass.step();
        const [embedding] = finishEmbeddings(values, pass.rows, flip);
        embeddings[stageKey(stage)] = embedding;
        stageMs.push(ms);
        last = { stage, embedding };
        if (i === 0) overran = performance.now() - t0 > deadlineMs;
      }
    } finally {
      pass.dispose();
    }
    if (!last) throw new Error('unreachable: stage 1 always runs');
    // Steps run past the deadline (for `complete`) are real runs too: they teach the calibration as well.
    this.calibration.observe(stageMs, flip);
    budgeted ??= { ...last, embeddings, stageMs, totalMs: performance.now() - t0, overran };
    return complete ? { ...budgeted, completed: embeddings as Record<StageKey, Float32Array> } : budgeted;
  }

  private async embedAllNow(images: readonly PixelSource[], flip: boolean): Promise<Record<StageKey, Float32Array>[]> {
    if (images.length === 0) return [];
    const raw = tf.tidy(() => {
      const outputs = runMonolithic(this.model, prepareBatch(this.model, images, flip));
      return tf.stack(outputs, 1) as tf.Tensor3D; // [rows, steps, d]: one read-back for everything
    });
    let values: Float32Array;
    try {
      values = await readFloat32(raw);
    } finally {
      raw.dispose();
    }
    const [rows, steps, dim] = raw.shape;
    const { ids } = this.model.layout;
    const perStep = ids.map((_, s) => {
      const block = new Float32Array(rows * dim);
      for (let r = 0; r < rows; r++) block.set(values.subarray((r * steps + s) * dim, (r * steps + s + 1) * dim), r * dim);
      return finishEmbeddings(block, rows, flip);
    });
    return images.map((_, n) => Object.fromEntries(ids.map((id, s) => [stageKey(id), perStep[s][n]])) as Record<StageKey, Float32Array>);
  }
}
