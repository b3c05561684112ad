// Builds the fake-camera clip from Market-1501 (test time only): `tsx e2e/video/build.ts [out.y4m]`.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { marketMissing } from './market';
import { HUB_CAMERA_A, HUB_CAMERA_B } from './hubScenes';
import { buildClip, TWO_PEOPLE, type GroundTruth, type SceneSpec } from './scene';
import { writeY4m } from './y4m';

export const CLIP_FPS = 10;

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_CLIP = path.join(REPO, '.cache', 'webcam', 'two-people.y4m');
/** The hub test's two cameras (e2e/video/hubScenes.ts). */
export const HUB_CLIP_A = path.join(REPO, '.cache', 'webcam', 'hub-camera-a.y4m');
export const HUB_CLIP_B = path.join(REPO, '.cache', 'webcam', 'hub-camera-b.y4m');

/** Every clip the e2e tests play, by file. */
export const CLIPS: readonly { file: string; spec: SceneSpec }[] = [
  { file: DEFAULT_CLIP, spec: TWO_PEOPLE },
  { file: HUB_CLIP_A, spec: HUB_CAMERA_A },
  { file: HUB_CLIP_B, spec: HUB_CAMERA_B },
];

/** Writes the clip of `spec` (the two-people one by default) to `file` and returns its ground truth
 * (throws when Market-1501 is absent). */
export function writeClip(file = DEFAULT_CLIP, spec: SceneSpec = TWO_PEOPLE): { file: string; truth: GroundTruth[][] } {
  const missing = marketMissing();
  if (missing) throw new Error(missing);
  const clip = buildClip(spec);
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
