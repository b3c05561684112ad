import { describe, expect, it } from 'vitest';
import { cropBox, iou, normalisedCropBox } from './geometry';

const MODEL = { width: 64, height: 128 };
const FRAME = { width: 640, height: 360 };

describe('iou', () => {
  it('is 1 for the same box, 0 for disjoint or touching boxes, and symmetric', () => {
    const a = { x: 10, y: 10, width: 20, height: 40 };
    expect(iou(a, a)).toBe(1);
    expect(iou(a, { x: 30, y: 10, width: 20, height: 40 })).toBe(0);
    const b = { x: 20, y: 10, width: 20, height: 40 };
    expect(iou(a, b)).toBeCloseTo(1 / 3);
    expect(iou(b, a)).toBeCloseTo(iou(a, b));
  });
});

describe('cropBox', () => {
  it('grows a box by the margin and widens it to the model aspect ratio about its centre', () => {
    const box = { x: 300, y: 100, width: 40, height: 160 };
    const c = cropBox(box, FRAME, MODEL, 0.1);
    expect(c.height).toBeCloseTo(160 * 1.2);
    expect(c.width).toBeCloseTo(c.height / 2);
    expect(c.x + c.width / 2).toBeCloseTo(320);
    expect(c.y + c.height / 2).toBeCloseTo(180);
  });

  it('heightens a wide box instead of squashing it', () => {
    const c = cropBox({ x: 200, y: 150, width: 100, height: 60 }, FRAME, MODEL, 0);
    expect(c.width).toBeCloseTo(100);
    expect(c.height).toBeCloseTo(200);
  });

  it('moves a crop that sticks out back inside the frame when it fits', () => {
    const c = cropBox({ x: 600, y: 0, width: 40, height: 100 }, FRAME, MODEL, 0.1);
    expect(c.x + c.width).toBeCloseTo(640);
    expect(c.y).toBeCloseTo(0);
    expect(c.height / c.width).toBeCloseTo(2);
  });

  it('keeps a crop taller than the frame centred on the person (the crop op pads it)', () => {
    const c = cropBox({ x: 300, y: 0, width: 80, height: 360 }, FRAME, MODEL, 0.1);
    expect(c.height).toBeGreaterThan(360);
    expect(c.y + c.height / 2).toBeCloseTo(180);
    expect(c.height / c.width).toBeCloseTo(2);
  });

  it('normalises to cropAndResize coordinates', () => {
    const [y1, x1, y2, x2] = normalisedCropBox({ x: 0, y: 0, width: 639, height: 359 }, FRAME);
    expect([y1, x1, y2, x2]).toEqual([0, 0, 1, 1]);
  });
});
