import { describe, expect, it } from 'vitest';
import { fitWithin, isTooLargeToDecode, orientedSize } from './sizing';

describe('fitWithin', () => {
  it('scales the long side down to maxSide, keeping the aspect ratio', () => {
    expect(fitWithin(8000, 8000, 256)).toEqual({ width: 256, height: 256 });
    expect(fitWithin(4000, 3000, 512)).toEqual({ width: 512, height: 384 });
    expect(fitWithin(3000, 4000, 512)).toEqual({ width: 384, height: 512 });
    expect(fitWithin(1000, 333, 100)).toEqual({ width: 100, height: 33 });
  });

  it('never upscales and never returns a zero side', () => {
    expect(fitWithin(64, 128, 256)).toEqual({ width: 64, height: 128 });
    expect(fitWithin(256, 100, 256)).toEqual({ width: 256, height: 100 });
    expect(fitWithin(10000, 3, 256)).toEqual({ width: 256, height: 1 });
  });

  it('rejects a maxSide below 1', () => {
    expect(() => fitWithin(10, 10, 0)).toThrow(RangeError);
    expect(() => fitWithin(10, 10, NaN)).toThrow(RangeError);
  });
});

describe('orientedSize', () => {
  it('swaps width and height for EXIF orientations 5–8 only', () => {
    for (const o of [1, 2, 3, 4]) expect(orientedSize(128, 64, o)).toEqual({ width: 128, height: 64 });
    for (const o of [5, 6, 7, 8]) expect(orientedSize(128, 64, o)).toEqual({ width: 64, height: 128 });
  });
});

describe('isTooLargeToDecode', () => {
  it('blames the size only beyond 2^28 pixels', () => {
    expect(isTooLargeToDecode({ width: 8000, height: 8000 })).toBe(false);
    expect(isTooLargeToDecode({ width: 65535, height: 65535 })).toBe(true);
  });
});
