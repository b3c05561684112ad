// The parts of one full pass, numbered across its steps: what the webcam plans a frame in. A step whose
// stage lists no parts is one part; the fusion is one part.
import { StageLayout, type StageId } from './stages';
import type { DareMetadata } from './types';

export class PassParts {
  /** Parts of a full pass, the fusion included. */
  readonly count: number;
  /** The step (0-based) each part belongs to. */
  readonly stepOf: readonly number[];
  /** Each part's share of its step's multiply-adds (1 for a step of one part): a first guess at its share
   * of the step's time, until real runs say. */
  readonly shareOf: readonly number[];
  /** Per step, the index of its first part; then `count`. */
  private readonly firstOf: readonly number[];

  constructor(meta: Pick<DareMetadata, 'stages'>) {
    const stepOf: number[] = [];
    const shareOf: number[] = [];
    const firstOf: number[] = [];
    meta.stages.forEach((stage, step) => {
      firstOf.push(stepOf.length);
      const before = step === 0 ? 0 : meta.stages[step - 1].macs;
      const total = stage.macs - before;
      let previous = before;
      for (const part of stage.parts) {
        stepOf.push(step);
        shareOf.push(stage.parts.length === 1 || total <= 0 ? 1 / stage.parts.length : (part.macs - previous) / total);
        previous = part.macs;
      }
    });
    firstOf.push(stepOf.length);
    stepOf.push(meta.stages.length);
    shareOf.push(1);
    firstOf.push(stepOf.length);
    this.stepOf = stepOf;
    this.shareOf = shareOf;
    this.firstOf = firstOf;
    this.count = stepOf.length;
  }

  /** True when step `step` is a single part. */
  single(step: number): boolean {
    return this.firstOf[step + 1] - this.firstOf[step] === 1;
  }

  /** Parts run to reach `stage` (0 for none): every part of the steps up to and including its step. */
  depth(stage: StageId | null, layout: StageLayout): number {
    return this.firstOf[layout.stageDepth(stage)];
  }
}

const cache = new WeakMap<object, PassParts>();

/** The parts of a model's pass (computed once per metadata object). */
export function passParts(meta: Pick<DareMetadata, 'stages'>): PassParts {
  let parts = cache.get(meta);
  if (!parts) cache.set(meta, (parts = new PassParts(meta)));
  return parts;
}
