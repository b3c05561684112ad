// One webcam frame, start to finish, within the frame budget: grab → detect people (input size chosen
// for the budget, detectorSize.ts) → track them → share what is left of the budget between them
// (budget.ts) → resume each chosen person's staged pass → match the deepest embedding against the gallery
// → decide identity or "unknown".

import * as tf from '@tensorflow/tfjs';
import type { Calibration, DareModel, Match, StageId } from '../engine';
import { deadlineFor, planFrame } from './budget';
import { WEBCAM } from '../config';
import { RunningCost } from '../engine/runningCost';
import { PartCosts } from '../engine/partCosts';
import { passParts } from '../engine/parts';
import { cropPerson } from './crop';
import type { PersonDetector } from './detector';
import { DetectorSizer } from './detectorSize';
import type { Box, Size } from './geometry';
import { decide, type Decision, type UnknownThresholds } from './threshold';
import { IouTracker, type Track } from './tracker';
import { TrackReid } from './trackReid';

/** The gallery as the pipeline sees it: nearest-neighbour search on the backend and entry identities. */
export interface GalleryView {
  /** Changes whenever entries are added or removed, so earlier matches are searched again. */
  version: number;
  size: number;
  search(stage: StageId, embedding: Float32Array, k: number): Promise<Match[]>;
  identityOf(entryId: string): string | undefined;
}

export interface FrameSettings {
  budgetMs: number;
  thresholds: UnknownThresholds;
  /** The user's adjustment of the calibrated thresholds (1 = as calibrated). */
  thresholdScale: number;
}

export interface PersonView {
  track: number;
  box: Box;
  /** Deepest stage reached on this person so far (null: none yet). */
  stage: StageId | null;
  /** Steps that stage took (0 … stepCount) and the steps of a full pass (the model's exits, then the fusion). */
  stepsReached: number;
  stepCount: number;
  decision: Decision | null;
  /** The gallery entry the decision's distance is to (null before a match, or with an empty gallery). */
  nearestEntryId: string | null;
  /** Engine parts run on this person in this frame (a part: a stage, or a piece of a long one). */
  partsThisFrame: number;
}

export interface FrameReport {
  index: number;
  frame: Size;
  budgetMs: number;
  totalMs: number;
  /** Turning the video frame into a tensor. */
  grabMs: number;
  /** The detector alone. */
  detectorMs: number;
  /** The detector input's longer side used for this frame. */
  detectorSide: number;
  /** Everything after the detector: crops, engine parts, matching. */
  engineMs: number;
  /** What this frame would have needed at least to stay in budget: grabbing it, the detector and stage 1
   * of one person (the benchmark's "budget is at least the detector's cost plus stage 1"). */
  floorMs: number;
  /** Engine parts and ms spent on each person that got any in this frame. */
  perPerson: { track: number; parts: number; ms: number }[];
  overran: boolean;
  people: PersonView[];
}

/** A frame: a tensor ([h, w, 3] RGB, not disposed) or anything tf.browser.fromPixels takes (a video). */
export type FrameSource = tf.Tensor3D | Parameters<typeof tf.browser.fromPixels>[0];

export interface PipelineDeps {
  detector: PersonDetector;
  model: DareModel;
  calibration: Calibration;
  gallery: () => GalleryView;
}


interface Capture {
  count: number;
  every: number;
  seen: number;
  crops: tf.Tensor3D[];
  resolve: (crops: tf.Tensor3D[]) => void;
  reject: (e: Error) => void;
}

export class WebcamPipeline {
  private readonly tracker = new IouTracker();
  private readonly reid = new Map<number, TrackReid>();
  private readonly sizer = new DetectorSizer();
  private sizedFor: Size | null = null;
  /** Per person given parts: the crop, reading embeddings back, the gallery search. */
  private readonly perPerson = new RunningCost(WEBCAM.perPersonInitialMs, WEBCAM.perPersonLearningRate);
  private frames = 0;
  /** Crops being collected for enrollments, by track id. */
  private readonly captures = new Map<number, Capture>();
  /** What each part of a pass costs: the frame is planned in parts, so a long exit spreads over frames. */
  private readonly partCosts: PartCosts;

  constructor(private readonly deps: PipelineDeps) {
    this.partCosts = new PartCosts(deps.calibration, passParts(deps.model.meta));
  }

  /** Measures the detector at each input size for frames of this size (called by process() when the
   * size changes; call it ahead, e.g. while the camera starts, to keep the first frames in budget). */
  async prepare(frame: Size): Promise<void> {
    const blank = tf.fill([frame.height, frame.width, 3], 128) as tf.Tensor3D;
    try {
      for (const side of this.sizer.sides) {
        await this.deps.detector.detect(blank, side); // first run at a shape compiles / allocates
        const t0 = performance.now();
        await this.deps.detector.detect(blank, side);
        this.sizer.setBaseline(side, performance.now() - t0);
      }
    } finally {
      blank.dispose();
    }
    this.sizedFor = { ...frame };
  }

  async process(source: FrameSource, settings: FrameSettings): Promise<FrameReport> {
    if (source instanceof tf.Tensor) {
      await this.ensurePrepared(source.shape[1], source.shape[0]);
      return this.processTensor(source, settings, performance.now());
    }
    const size = frameSize(source);
    await this.ensurePrepared(size.width, size.height);
    const t0 = performance.now();
    const frame = tf.tidy(() => tf.browser.fromPixels(source).toFloat());
    try {
      return await this.processTensor(frame, settings, t0);
    } finally {
      frame.dispose();
    }
  }

  private async ensurePrepared(width: number, height: number): Promise<void> {
    if (this.sizedFor?.width !== width || this.sizedFor.height !== height) await this.prepare({ width, height });
  }

  private reserveMs(): number {
    return this.deps.calibration.cautiousStepCosts(false)[0] + this.perPerson.cautious;
  }

  private async processTensor(frame: tf.Tensor3D, settings: FrameSettings, t0: number): Promise<FrameReport> {
    const [height, width] = frame.shape;
    const side = this.sizer.choose(settings.budgetMs - (performance.now() - t0), this.reserveMs());
    const tDetect = performance.now();
    const grabMs = tDetect - t0;
    const detections = await this.deps.detector.detect(frame, side);
    const detectorMs = performance.now() - tDetect;
    this.sizer.observe(side, detectorMs);

    const { inView, ended } = this.tracker.update(detections);
    for (const id of ended) this.forget(id);
    for (const t of inView) if (!this.reid.has(t.id)) this.reid.set(t.id, new TrackReid(t.id));
    this.capture(frame, inView);

    const gallery = this.deps.gallery();
    // Built on the engine's calibration: what the webcam learns about whole steps, search plans with too.
    const partMs = this.partCosts.cautious();
    const { model } = this.deps;
    const plan = planFrame({
      budgetMs: settings.budgetMs,
      elapsedMs: performance.now() - t0,
      partMs,
      firstAnswerParts: passParts(model.meta).depth(1, model.layout),
      perPersonMs: this.perPerson.cautious,
      tracks: inView.flatMap((t) => {
        const r = this.reid.get(t.id)!;
        const margin = r.decision ? r.decision.margin : null;
        if (!r.complete) return [{ id: t.id, partsDone: r.partsDone, margin, order: t.id }];
        if (r.refreshing) return [{ id: t.id, partsDone: r.partsDone, margin, order: t.id, refresh: true }];
        const due = this.frames - r.cropFrame >= WEBCAM.refreshAfterFrames;
        return due ? [{ id: t.id, partsDone: 0, margin, order: t.id, refresh: true }] : [];
      }),
    });

    const perPerson: FrameReport['perPerson'] = [];
    const boxes = new Map(inView.map((t) => [t.id, t.box]));
    for (let i = 0; i < plan.length; i++) {
      const start = performance.now();
      const deadline = deadlineFor(plan, i, settings.budgetMs - (start - t0));
      const r = this.reid.get(plan[i].id)!;
      const parts = await this.advance(r, frame, boxes.get(r.id)!, partMs, deadline, start, plan[i].forced ? plan[i].parts : 1);
      if (parts.answered) await this.match(r, gallery);
      const ms = performance.now() - start;
      perPerson.push({ track: r.id, parts: parts.count, ms });
      this.perPerson.observe(ms - parts.ms);
    }
    // Matches made against an older gallery (someone was enrolled since) are searched again while time
    // is left; the embedding is already there, so only the search costs.
    for (const t of inView) {
      const r = this.reid.get(t.id)!;
      if (!r.embedding || r.matchedVersion === gallery.version) continue;
      if (performance.now() - t0 + this.perPerson.cautious > settings.budgetMs) break;
      await this.match(r, gallery);
    }

    const totalMs = performance.now() - t0;
    const partsBy = new Map(perPerson.map((p) => [p.track, p.parts]));
    return {
      index: this.frames++,
      frame: { width, height },
      budgetMs: settings.budgetMs,
      totalMs,
      grabMs,
      detectorMs,
      detectorSide: side,
      engineMs: totalMs - grabMs - detectorMs,
      floorMs: grabMs + detectorMs + this.deps.calibration.stepCosts(false)[0],
      perPerson,
      overran: totalMs > settings.budgetMs,
      people: inView.map((t) => this.view(t, settings, partsBy.get(t.id) ?? 0)),
    };
  }

  /** Runs parts on one person while the next part's cautious cost (plus the matching after it) fits
   * before `deadline` (ms from `start`); the first `minParts` always run (1, or all a forced plan gave). A
   * person without a pass in progress (no answer yet, or a complete one due for a refresh) starts one on
   * this frame's crop. */
  private async advance(
    r: TrackReid,
    frame: tf.Tensor3D,
    box: Box,
    partMs: readonly number[],
    deadline: number,
    start: number,
    minParts: number,
  ): Promise<{ count: number; ms: number; answered: boolean }> {
    let count = 0;
    let ms = 0;
    let answered = false;
    let crop: tf.Tensor3D | null = null;
    try {
      if (!r.passActive) {
        crop = cropPerson(frame, box, this.deps.model.meta.input);
        r.begin(this.deps.model, crop, this.frames);
      }
      while (r.passActive && (count < minParts || performance.now() - start + partMs[r.partsDone] + this.perPerson.cautious <= deadline)) {
        const done = await r.nextPart();
        this.partCosts.observe(done.part);
        ms += done.part.ms;
        answered ||= done.answered;
        count++;
        if (crop) {
          crop.dispose(); // the pass made its own batch from it in the first part
          crop = null;
        }
      }
    } finally {
      crop?.dispose();
    }
    return { count, ms, answered };
  }

  private async match(r: TrackReid, gallery: GalleryView): Promise<void> {
    if (!r.embedding || r.stage === null) return;
    r.matchedVersion = gallery.version;
    if (gallery.size === 0) {
      r.nearest = undefined;
      return;
    }
    const [best] = await gallery.search(r.stage, r.embedding, 1);
    const identity = best && gallery.identityOf(best.id);
    r.nearest = best && identity !== undefined ? { identity, entryId: best.id, distance: best.distance } : undefined;
  }

  private view(t: Track, settings: FrameSettings, partsThisFrame: number): PersonView {
    const r = this.reid.get(t.id)!;
    // Recomputed every frame (cheap) so that moving the threshold slider acts at once.
    r.decision = r.stage === null ? null : decide(r.nearest, settings.thresholds, r.stage, settings.thresholdScale);
    const { layout } = this.deps.model;
    return {
      track: t.id,
      box: t.box,
      stage: r.stage,
      stepsReached: layout.stageDepth(r.stage),
      stepCount: layout.stepCount,
      decision: r.decision,
      nearestEntryId: r.nearest?.entryId ?? null,
      partsThisFrame,
    };
  }

  /** Keeps a crop of each track being captured, every `every` frames (cheap: one cropAndResize). */
  private capture(frame: tf.Tensor3D, inView: readonly Track[]): void {
    for (const t of inView) {
      const c = this.captures.get(t.id);
      if (!c || c.seen++ % c.every !== 0) continue;
      c.crops.push(cropPerson(frame, t.box, this.deps.model.meta.input));
      if (c.crops.length >= c.count) {
        this.captures.delete(t.id);
        c.resolve(c.crops);
      }
    }
  }

  /**
   * Crops of one tracked person from the next frames it is in view in (`count` of them, `every` frames
   * apart so the poses differ), as [h, w, 3] float32 at the model's size; the caller disposes them.
   * Rejects when the person leaves the view first.
   */
  captureCrops(track: number, count: number, every: number): Promise<tf.Tensor3D[]> {
    this.cancelCapture(track, 'another capture of this person started');
    return new Promise((resolve, reject) => this.captures.set(track, { count, every, seen: 0, crops: [], resolve, reject }));
  }

  private cancelCapture(track: number, reason: string): void {
    const c = this.captures.get(track);
    if (!c) return;
    this.captures.delete(track);
    tf.dispose(c.crops);
    c.reject(new Error(reason));
  }

  private forget(id: number): void {
    this.reid.get(id)?.dispose();
    this.reid.delete(id);
    this.cancelCapture(id, 'the person left the view');
  }

  /** Forgets every person (freeing their backend memory); the detector sizing is kept. */
  reset(): void {
    for (const id of [...this.reid.keys()]) this.forget(id);
    for (const id of [...this.captures.keys()]) this.cancelCapture(id, 'the camera stopped');
    this.tracker.reset();
  }

  /** Frees every person's backend memory (the detector and the model belong to the caller). */
  dispose(): void {
    this.reset();
  }
}

function frameSize(source: Exclude<FrameSource, tf.Tensor3D>): Size {
  if (typeof HTMLVideoElement !== 'undefined' && source instanceof HTMLVideoElement) return { width: source.videoWidth, height: source.videoHeight };
  return { width: source.width, height: source.height };
}
