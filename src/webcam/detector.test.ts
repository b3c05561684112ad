import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClip, TWO_PEOPLE } from '../../e2e/video/scene';
import { marketMissing } from '../../e2e/video/market';
import { useBackend } from '../engine/node/testModel';
import { decodeMultiPose, DEFAULT_DETECTOR_OPTIONS, detectorInputSize, type PersonDetector } from './detector';
import { DetectorSizer } from './detectorSize';
import { iou } from './geometry';
import { detectorAvailable, loadTestDetector, NO_DETECTOR } from './node/testDetector';

const FRAME = { width: 640, height: 360 };

function row(box: [number, number, number, number], score: number): number[] {
  return [...Array(51).fill(0), ...box, score];
}

describe('decodeMultiPose', () => {
  it('turns rows of normalised boxes into frame pixels, drops low scores and tiny boxes, best first', () => {
    const rows = [
      ...row([0.2, 0.1, 0.8, 0.3], 0.5),
      ...row([0.1, 0.5, 0.9, 0.7], 0.9),
      ...row([0.1, 0.5, 0.9, 0.7], 0.05),
      ...row([0.5, 0.5, 0.52, 0.52], 0.9),
    ];
    const people = decodeMultiPose(rows, FRAME, DEFAULT_DETECTOR_OPTIONS);
    expect(people.map((p) => p.score)).toEqual([0.9, 0.5]);
    expect(people[1].box.x).toBeCloseTo(64);
    expect(people[1].box.y).toBeCloseTo(72);
    expect(people[1].box.width).toBeCloseTo(128);
    expect(people[1].box.height).toBeCloseTo(216);
  });

  it('clips boxes to the frame', () => {
    const [p] = decodeMultiPose(row([-0.1, 0.9, 1.2, 1.3], 0.8), FRAME, DEFAULT_DETECTOR_OPTIONS);
    expect(p.box).toEqual({ x: 576, y: 0, width: 64, height: 360 });
  });
});

describe('detectorInputSize', () => {
  it('keeps the frame’s aspect ratio in multiples of 32', () => {
    expect(detectorInputSize({ width: 640, height: 360 }, 256)).toEqual({ width: 256, height: 160 });
    expect(detectorInputSize({ width: 480, height: 640 }, 192)).toEqual({ width: 160, height: 192 });
    expect(detectorInputSize({ width: 100, height: 100 }, 160)).toEqual({ width: 160, height: 160 });
  });
});

describe('DetectorSizer', () => {
  it('picks the largest input whose cautious cost leaves room for stage 1, and follows the device getting slower', () => {
    const sizer = new DetectorSizer([256, 192, 160]);
    sizer.setBaseline(256, 60);
    sizer.setBaseline(192, 35);
    sizer.setBaseline(160, 25);
    // Until runs are seen, the cautious cost is 1.5× the baseline: 90, 52.5 and 37.5 ms.
    expect(sizer.choose(100, 10)).toBe(256);
    expect(sizer.choose(70, 10)).toBe(192);
    expect(sizer.choose(60, 10)).toBe(160);
    expect(sizer.choose(20, 10)).toBe(160);
    // 192 now takes twice its baseline: every size is expected twice as slow.
    for (let i = 0; i < 40; i++) sizer.observe(192, 70);
    expect(sizer.choose(100, 10)).toBe(192);
  });
});

const market = marketMissing();
describe.skipIf(!detectorAvailable || market !== null)(
  `person detector on the test clip${!detectorAvailable ? ` — ${NO_DETECTOR}` : market ? ` — SKIPPED: ${market}` : ''}`,
  () => {
    let detector: PersonDetector;
    const clip = market === null ? buildClip({ ...TWO_PEOPLE, frames: 6 }) : null;

    beforeAll(async () => {
      await useBackend('wasm');
      detector = await loadTestDetector();
    }, 60_000);
    afterAll(() => detector?.dispose());

    it('finds both people where they were pasted, at every input size used', async () => {
      for (const side of [256, 160]) {
        for (let f = 0; f < clip!.frames.length; f += 3) {
          const { width, height, data } = clip!.frames[f];
          const frame = tf.tensor3d(data, [height, width, 3], 'int32');
          const people = await detector.detect(frame, side);
          frame.dispose();
          expect(people).toHaveLength(2);
          for (const truth of clip!.truth[f]) {
            expect(Math.max(...people.map((p) => iou(p.box, truth.box)))).toBeGreaterThan(0.6);
          }
        }
      }
    }, 60_000);
  },
);
