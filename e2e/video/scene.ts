// A synthetic webcam clip: Market-1501 people pasted onto a textured background, walking slowly back and
// forth. The motion is a triangle wave over the clip, so a player that loops it (Chromium's fake camera
// does) shows no jump.

import { readMarketImage, type RgbaImage } from './market';
import type { RgbFrame } from './y4m';

export interface Walker {
  /** Market-1501 file name of the person's image. */
  image: string;
  /** Scale of the 128×64 Market crop in the video. */
  scale: number;
  /** Top-left corner at the start and at the turning point, in video pixels. */
  from: { x: number; y: number };
  to: { x: number; y: number };
}

export interface SceneSpec {
  width: number;
  height: number;
  frames: number;
  walkers: Walker[];
}

/** Two people different enough for a test that one is recognised and the other is not. */
export const TWO_PEOPLE: SceneSpec = {
  width: 640,
  height: 360,
  frames: 60,
  walkers: [
    { image: '0055_c3s3_076469_00.jpg', scale: 1.75, from: { x: 60, y: 70 }, to: { x: 170, y: 80 } },
    { image: '0049_c1s1_005351_00.jpg', scale: 1.75, from: { x: 460, y: 90 }, to: { x: 370, y: 80 } },
  ],
};

export interface GroundTruth {
  image: string;
  /** Where the pasted image is, in video pixels. */
  box: { x: number; y: number; width: number; height: number };
}

export interface Clip {
  frames: RgbFrame[];
  truth: GroundTruth[][];
}

export function buildClip(spec: SceneSpec): Clip {
  const sprites = spec.walkers.map((w) => readMarketImage(w.image));
  const background = texturedBackground(spec.width, spec.height);
  const frames: RgbFrame[] = [];
  const truth: GroundTruth[][] = [];
  for (let f = 0; f < spec.frames; f++) {
    const data = background.slice();
    const t = 1 - Math.abs(1 - (2 * f) / spec.frames);
    const boxes = spec.walkers.map((w, i) => {
      const sprite = sprites[i];
      const box = {
        x: Math.round(w.from.x + t * (w.to.x - w.from.x)),
        y: Math.round(w.from.y + t * (w.to.y - w.from.y)),
        width: Math.round(sprite.width * w.scale),
        height: Math.round(sprite.height * w.scale),
      };
      paste(data, spec.width, spec.height, sprite, box);
      return { image: w.image, box };
    });
    frames.push({ width: spec.width, height: spec.height, data });
    truth.push(boxes);
  }
  return { frames, truth };
}

/** Soft gradient with faint tiles: not flat (a detector sees texture), not busy enough to look like people. */
function texturedBackground(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const tile = ((x >> 5) + (y >> 5)) % 2 ? 10 : 0;
      const p = (y * width + x) * 3;
      data[p] = 150 + tile + (40 * y) / height;
      data[p + 1] = 145 + tile + (30 * x) / width;
      data[p + 2] = 135 + tile;
    }
  }
  return data;
}

/** Bilinear upscale of `sprite` into `box` (clipped to the frame). */
function paste(data: Uint8Array, width: number, height: number, sprite: RgbaImage, box: GroundTruth['box']): void {
  for (let y = Math.max(0, box.y); y < Math.min(height, box.y + box.height); y++) {
    const sy = Math.min(sprite.height - 1, Math.max(0, ((y - box.y + 0.5) * sprite.height) / box.height - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(sprite.height - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = Math.max(0, box.x); x < Math.min(width, box.x + box.width); x++) {
      const sx = Math.min(sprite.width - 1, Math.max(0, ((x - box.x + 0.5) * sprite.width) / box.width - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(sprite.width - 1, x0 + 1);
      const fx = sx - x0;
      const p = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const at = (yy: number, xx: number) => sprite.data[(yy * sprite.width + xx) * 4 + c];
        const top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx;
        const bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
        data[p + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
}
