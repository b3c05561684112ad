// Running the DaRe graph one step at a time (each exit, then the fusion) or all at once.
import * as tf from '@tensorflow/tfjs';
import type { DareModel } from './model';
import { toImageTensor, type PixelSource } from './pixels';
import { FUSION_STEP, STEP_COUNT, stepStage, type StageId } from './stages';
import { l2Normalise } from './vectors';

/** [n, H, W, 3] float32 batch at the model's input size; with `flip`, [2n, …]: the images, then their
 * mirrors in the same order (see {@link finishEmbeddings}). */
export function prepareBatch(model: DareModel, sources: readonly PixelSource[], flip: boolean): tf.Tensor4D {
  const { height, width } = model.meta.input;
  return tf.tidy(() => {
    const images = sources.map((src) => {
      const img = toImageTensor(src);
      const [h, w] = img.shape;
      return h === height && w === width ? img : tf.image.resizeBilinear(img, [height, width], false, true);
    });
    const batch = tf.stack(images) as tf.Tensor4D;
    return flip ? tf.concat([batch, tf.reverse(batch, 2)]) : batch;
  });
}

export interface StageOutput {
  features: tf.Tensor;
  embedding: tf.Tensor2D;
}

/** Stage `index` (0-based) fed the image batch (index 0) or the previous stage's features. */
export function runStage(model: DareModel, index: number, input: tf.Tensor): StageOutput {
  const { meta, graph } = model;
  const feedName = index === 0 ? meta.input.name : meta.stages[index - 1].features;
  const stage = meta.stages[index];
  const [features, embedding] = graph.execute({ [feedName]: input }, [stage.features, stage.embedding]) as tf.Tensor[];
  return { features, embedding: embedding as tf.Tensor2D };
}

/** Every raw embedding (each exit, then fused) from one execute call. */
export function runMonolithic(model: DareModel, batch: tf.Tensor4D): tf.Tensor2D[] {
  const { meta, graph } = model;
  const names = [...meta.stages.map((s) => s.embedding), meta.fused.embedding];
  return graph.execute({ [meta.input.name]: batch }, names) as tf.Tensor2D[];
}

/** Rows of a raw [n or 2n, d] embedding batch → n L2-normalised vectors; with `flip`, row i is first
 * summed with its mirror's row n+i (the mean, up to a scale the normalisation removes). */
export function finishEmbeddings(raw: Float32Array, rows: number, flip: boolean): Float32Array[] {
  const dim = raw.length / rows;
  const n = flip ? rows / 2 : rows;
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const v = raw.slice(i * dim, (i + 1) * dim);
    if (flip) {
      const mirror = raw.subarray((n + i) * dim, (n + i + 1) * dim);
      for (let j = 0; j < dim; j++) v[j] += mirror[j];
    }
    out.push(l2Normalise(v));
  }
  return out;
}

/** Reads a tensor's values (awaiting the backend, so timings include the work) as float32. */
export async function readFloat32(t: tf.Tensor): Promise<Float32Array> {
  const data = await t.data();
  return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
}

export interface StepResult {
  stage: StageId;
  /** The step's raw embedding rows ([rows, d], not normalised; the pass keeps it for the fusion: do not modify). */
  values: Float32Array;
  /** Wall time of the step, its read-back included (so it is real on async backends). */
  ms: number;
}

/** Σ w_s·e_s over the raw stage embeddings, as the graph's fused node computes it (weights from the
 * metadata). Done here, from the values already read back, to spare the fusion step a backend round trip. */
export function fuse(weights: readonly number[], stageValues: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(stageValues[0].length);
  stageValues.forEach((values, s) => {
    for (let j = 0; j < out.length; j++) out[j] += weights[s] * values[j];
  });
  return out;
}

/** One image batch going through the steps in order. The feature map between stages stays on the
 * backend; each stage's embedding is read back (which makes the step timings real on async backends)
 * and the fusion is computed from those. dispose() frees the feature map the last step left. */
export class StagedPass {
  private features: tf.Tensor | null = null;
  private readonly stageValues: Float32Array[] = [];
  private next = 0;
  /** Rows of every embedding: sources.length, doubled with flip. */
  readonly rows: number;

  constructor(
    private readonly model: DareModel,
    private readonly sources: readonly PixelSource[],
    private readonly flip: boolean,
  ) {
    this.rows = sources.length * (flip ? 2 : 1);
  }

  /** Steps run so far. */
  get done(): number {
    return this.next;
  }

  /** Runs the next step (the first one also resizes and batches the images). */
  async step(): Promise<StepResult> {
    const i = this.next;
    if (i >= STEP_COUNT) throw new Error('all steps already ran');
    const t0 = performance.now();
    this.next++;
    if (i === FUSION_STEP) {
      this.dispose();
      const values = fuse(this.model.meta.fused.weights, this.stageValues);
      return { stage: 'fused', values, ms: performance.now() - t0 };
    }
    const input = this.features ?? prepareBatch(this.model, this.sources, this.flip);
    this.features = null;
    let out: StageOutput;
    try {
      out = runStage(this.model, i, input);
    } finally {
      input.dispose();
    }
    this.features = out.features;
    try {
      const values = await readFloat32(out.embedding);
      this.stageValues.push(values);
      return { stage: stepStage(i), values, ms: performance.now() - t0 };
    } finally {
      out.embedding.dispose();
    }
  }

  dispose(): void {
    this.features?.dispose();
    this.features = null;
  }
}
