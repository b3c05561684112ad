// Running the DaRe graph one step at a time (each exit, then the fusion) or all at once. A step is one or
// more parts (DareStage.parts), each one graph call fed what its metadata names: the image batch, or the
// feature map the part before it (or, in a chain, the previous stage) ended with. A pass can stop after
// any part and resume later, which is how the webcam spreads a long exit over several frames.
import * as tf from '@tensorflow/tfjs';
import type { DareModel } from './model';
import { toImageTensor, type PixelSource } from './pixels';
import type { StageId } from './stages';
import type { DarePart } from './types';
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

export interface PartOutput {
  /** The feature map the next part or stage is fed; null when nothing is fed from this part. */
  features: tf.Tensor | null;
  /** The exit's embedding, from its last part; null before. */
  embedding: tf.Tensor2D | null;
}

/** One part fed `input`: the tensor its metadata names as its feed. */
export function runPart(model: DareModel, part: DarePart, input: tf.Tensor): PartOutput {
  const outputs = [part.features, part.embedding].filter((n): n is string => n !== null);
  // execute() answers one Tensor, not a list, when one output is asked for.
  const result = model.graph.execute({ [part.feed]: input }, outputs);
  const out = Array.isArray(result) ? result : [result];
  return {
    features: part.features === null ? null : out[0],
    embedding: part.embedding === null ? null : (out[part.features === null ? 0 : 1] as tf.Tensor2D),
  };
}

/** Waits until the backend has computed `t`, reading back one value: a part that yields no embedding
 * would otherwise be timed as the moment its work was queued on webgl and webgpu. */
async function settle(t: tf.Tensor): Promise<void> {
  const one = tf.tidy(() => t.flatten().slice(0, 1));
  try {
    await one.data();
  } finally {
    one.dispose();
  }
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
  /** Wall time of the step's parts, their read-backs included (so it is real on async backends). */
  ms: number;
}

export interface PartResult {
  /** The step (0-based) this part belongs to. */
  step: number;
  /** This part's place among all the parts of a pass (0-based; see PassParts). */
  index: number;
  /** The stage this part completed, with its raw embedding rows (as StepResult's); null inside an exit. */
  stage: StageId | null;
  values: Float32Array | null;
  /** Wall time of this part. */
  ms: number;
  /** When this part completed its step: the step's time, its parts' summed (whenever they ran); else null. */
  stepMs: number | null;
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

/** One image batch going through the steps in order, a part at a time or a step at a time. What a later
 * part is fed stays on the backend (the previous part's feature map, and the image batch while a later
 * stage still reads it); each stage's embedding is read back (which makes the step timings real on async
 * backends) and the fusion is computed from those. dispose() frees what the last part left. */
export class StagedPass {
  private features: tf.Tensor | null = null;
  private batch: tf.Tensor4D | null = null;
  private readonly stageValues: Float32Array[] = [];
  private next = 0;
  /** Parts of step `next` already run, and their time. */
  private part = 0;
  private partMs = 0;
  private parts = 0;
  /** Rows of every embedding: sources.length, doubled with flip. */
  readonly rows: number;

  constructor(
    private readonly model: DareModel,
    private readonly sources: readonly PixelSource[],
    private readonly flip: boolean,
  ) {
    this.rows = sources.length * (flip ? 2 : 1);
  }

  /** Steps completed so far. */
  get done(): number {
    return this.next;
  }

  /** Parts run so far (of every step). */
  get partsDone(): number {
    return this.parts;
  }

  /** Runs the rest of the current step (all its parts, or those a nextPart() call left). */
  async step(): Promise<StepResult> {
    // A step not begun yet is one graph call, with no read-back between its parts (each would be a round
    // trip on webgl and webgpu): what search and the calibration run and time. One begun part by part
    // (the webcam) finishes its remaining parts.
    const whole = this.part === 0;
    for (;;) {
      const part = await this.run(whole);
      if (part.stage !== null && part.values !== null && part.stepMs !== null) return { stage: part.stage, values: part.values, ms: part.stepMs };
    }
  }

  /** Runs the next part (the first one also resizes and batches the images). */
  nextPart(): Promise<PartResult> {
    return this.run(false);
  }

  /** The next part, or with `wholeStep` every part of the next step in one graph call. */
  private async run(wholeStep: boolean): Promise<PartResult> {
    const i = this.next;
    const { layout, meta } = this.model;
    if (i >= layout.stepCount) throw new Error('all steps already ran');
    const t0 = performance.now();
    if (i === layout.fusionStep) {
      const index = this.parts++;
      this.next++;
      this.dispose();
      const values = fuse(meta.fused.weights, this.stageValues);
      const ms = performance.now() - t0;
      return { step: i, index, stage: 'fused', values, ms, stepMs: ms };
    }
    const stage = meta.stages[i];
    const part: DarePart = wholeStep ? { feed: stage.feed, features: stage.features ?? null, embedding: stage.embedding, macs: stage.macs } : stage.parts[this.part];
    this.parts += wholeStep ? stage.parts.length : 1;
    const index = this.parts - 1;
    this.batch ??= i === 0 && this.part === 0 ? prepareBatch(this.model, this.sources, this.flip) : null;
    const fromImage = part.feed === meta.input.name;
    const input = fromImage ? this.batch : this.features;
    if (!input) throw new Error(`stage ${i + 1} part ${this.part + 1} is fed '${part.feed}', which the previous parts did not leave`);
    let out: PartOutput;
    try {
      out = runPart(this.model, part, input);
    } finally {
      if (fromImage) this.releaseBatchAfter(i);
      else {
        input.dispose();
        this.features = null;
      }
    }
    this.features = out.features;
    this.part = wholeStep ? stage.parts.length : this.part + 1;
    try {
      if (out.embedding === null) {
        if (out.features) await settle(out.features);
        const ms = performance.now() - t0;
        this.partMs += ms;
        return { step: i, index, stage: null, values: null, ms, stepMs: null };
      }
      const values = await readFloat32(out.embedding);
      this.stageValues.push(values);
      const ms = performance.now() - t0;
      const stepMs = this.partMs + ms;
      this.next++;
      this.part = 0;
      this.partMs = 0;
      return { step: i, index, stage: layout.stepStage(i), values, ms, stepMs };
    } finally {
      out.embedding?.dispose();
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
