// Builds the fake-camera clip from Market-1501 (test time only): `tsx e2e/video/build.ts [out.y4m]`.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { marketMissing } from './market';
import { buildClip, TWO_PEOPLE, type GroundTruth } from './scene';
import { writeY4m } from './y4m';

export const CLIP_FPS = 10;

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_CLIP = path.join(REPO, '.cache', 'webcam', 'two-people.y4m');

/** Writes the two-people clip to `file` and returns its ground truth (throws when Market-1501 is absent). */
export function writeClip(file = DEFAULT_CLIP): { file: string; truth: GroundTruth[][] } {
  const missing = marketMissing();
  if (missing) throw new Error(missing);
  const clip = buildClip(TWO_PEOPLE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeY4m(tmp, clip.frames, CLIP_FPS);
  fs.renameSync(tmp, file);
  return { file, truth: clip.truth };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const { file } = writeClip(process.argv[2] ? path.resolve(process.argv[2]) : DEFAULT_CLIP);
  console.log(`wrote ${file}`);
}
