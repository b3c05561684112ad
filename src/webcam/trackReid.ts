// What the pipeline knows about one tracked person: the staged pass that is resumed from frame to frame,
// a part at a time (its feature map stays on the backend between frames), the answer (the deepest embedding so far), and
// its match. Once the answer is complete (fused), a later pass on a fresh crop may refresh it: the person
// may have turned, or come fully into view; the old answer stands until the new pass is complete too.

import type { DareModel, PixelSource } from '../engine';
// StagedPass is the engine's resumable part-by-part pass; the anytime runner only runs a pass to a
// deadline in one go, while a track needs to continue its pass in a later frame.
import { finishEmbeddings, StagedPass, type PartResult } from '../engine/staged';
import { passParts, type PassParts } from '../engine/parts';
import type { StageId, StageLayout } from '../engine/stages';
import type { Decision } from './threshold';

export interface Nearest {
  identity: string;
  entryId: string;
  distance: number;
}

export class TrackReid {
  private pass: StagedPass | null = null;
  /** The answer's stage: the deepest reached on this person (null before the first answer). */
  stage: StageId | null = null;
  embedding: Float32Array | null = null;
  nearest: Nearest | undefined = undefined;
  decision: Decision | null = null;
  /** The gallery version `nearest` was searched in; a different one means it must be searched again. */
  matchedVersion = -1;
  /** Frame whose crop the answer (or, before the first answer, the pass) comes from. */
  cropFrame = 0;
  private passStartFrame = 0;
  /** The layout of the model the passes run, and its parts (known from the first begin()). */
  private layout: StageLayout | null = null;
  private parts: PassParts | null = null;

  constructor(readonly id: number) {}

  private depth(stage: StageId | null): number {
    return this.layout?.stageDepth(stage) ?? 0;
  }

  /** Parts done on the pass in progress (or on the answer's pass when none is in progress). */
  get partsDone(): number {
    if (this.pass) return this.pass.partsDone;
    return this.layout && this.parts ? this.parts.depth(this.stage, this.layout) : 0;
  }

  get passActive(): boolean {
    return this.pass !== null;
  }

  get complete(): boolean {
    return this.stage === 'fused';
  }

  /** True while a complete answer is being recomputed on a newer crop. */
  get refreshing(): boolean {
    return this.complete && this.pass !== null;
  }

  /** Starts a pass on a crop ([h, w, 3] at the model's size; the caller owns it and may dispose it
   * after the first part) taken in frame `frame`. */
  begin(model: DareModel, crop: PixelSource, frame: number): void {
    this.pass?.dispose();
    this.layout = model.layout;
    this.parts = passParts(model.meta);
    this.pass = new StagedPass(model, [crop], false);
    this.passStartFrame = frame;
    if (!this.complete) this.cropFrame = frame;
  }

  /** Runs the next part of the pass in progress; returns it (with its measured ms) and whether the
   * answer changed (only a part that completes a stage can change it). */
  async nextPart(): Promise<{ part: PartResult; answered: boolean }> {
    if (!this.pass) throw new Error(`track ${this.id}: no crop to embed`);
    const part = await this.pass.nextPart();
    let answered = false;
    if (part.stage !== null && part.values !== null) {
      const [embedding] = finishEmbeddings(part.values, this.pass.rows, false);
      answered = this.depth(part.stage) >= this.depth(this.stage);
      if (answered) {
        this.stage = part.stage;
        this.embedding = embedding;
        this.cropFrame = this.passStartFrame;
      }
    }
    if (this.layout && this.pass.done >= this.layout.stepCount) this.dispose();
    return { part, answered };
  }

  dispose(): void {
    this.pass?.dispose();
    this.pass = null;
  }
}
