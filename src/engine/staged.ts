// Running the DaRe graph one step at a time (each exit, then the fusion) or all at once. A stage is fed
// what its metadata names (DareStage.feed): the image batch, or the previous stage's feature map.
import * as tf from '@tensorflow/tfjs';
import type { DareModel } from './model';
import { toImageTensor, type PixelSource } from './pixels';
import type { StageId } from './stages';
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
  /** The feature map the next stage is fed (format 1); null when no stage is fed from this one. */
  features: tf.Tensor | null;
  embedding: tf.Tensor2D;
}

/** Stage `index` (0-based) fed `input`: the tensor its metadata names as its feed (the image batch or
 * the previous stage's features). */
export function runStage(model: DareModel, index: number, input: tf.Tensor): StageOutput {
  const stage = model.meta.stages[index];
  const outputs = stage.features ? [stage.features, stage.embedding] : [stage.embedding];
  // execute() answers one Tensor, not a list, when one output is asked for.
  const result = model.graph.execute({ [stage.feed]: input }, outputs);
  const out = Array.isArray(result) ? result : [result];
  return stage.features ? { features: out[0], embedding: out[1] as tf.Tensor2D } : { features: null, embedding: out[0] as tf.Tensor2D };
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

/** One image batch going through the steps in order. What a later stage is fed stays on the backend
 * (the previous stage's feature map, and the image batch while a later stage still reads it); each
 * stage's embedding is read back (which makes the step timings real on async backends) and the fusion is
 * computed from those. dispose() frees what the last step left. */
export class StagedPass {
  private features: tf.Tensor | null = null;
  private batch: tf.Tensor4D | null = null;
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
    const { layout, meta } = this.model;
    if (i >= layout.stepCount) throw new Error('all steps already ran');
    const t0 = performance.now();
    this.next++;
    if (i === layout.fusionStep) {
      this.dispose();
      const values = fuse(meta.fused.weights, this.stageValues);
      return { stage: 'fused', values, ms: performance.now() - t0 };
    }
    this.batch ??= i === 0 ? prepareBatch(this.model, this.sources, this.flip) : null;
    const fromImage = meta.stages[i].feed === meta.input.name;
    const input = fromImage ? this.batch : this.features;
    if (!input) throw new Error(`stage ${i + 1} is fed '${meta.stages[i].feed}', which the previous steps did not leave`);
    let out: StageOutput;
    try {
      out = runStage(this.model, i, input);
    } finally {
      if (fromImage) this.releaseBatchAfter(i);
      else {
        input.dispose();
        this.features = null;
      }
    }
    this.features = out.features;
    try {
      const values = await readFloat32(out.embedding);
      this.stageValues.push(values);
      return { stage: layout.stepStage(i), values, ms: performance.now() - t0 };
    } finally {
      out.embedding.dispose();
    }
  }

  /** Frees the image batch once no stage after `i` is fed from it. */
  private releaseBatchAfter(i: number): void {
    const { meta } = this.model;
    if (meta.stages.slice(i + 1).some((s) => s.feed === meta.input.name)) return;
    this.batch?.dispose();
    this.batch = null;
  }

  dispose(): void {
    this.features?.dispose();
    this.features = null;
    this.batch?.dispose();
    this.batch = null;
  }
}
