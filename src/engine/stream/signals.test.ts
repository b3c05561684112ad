import { describe, expect, it } from 'vitest';
import { confidenceScore, exitSignal } from './signals';

describe('exitSignal', () => {
  it('takes d2 from the nearest entry of another identity than the nearest one', () => {
    const signal = exitSignal([
      { distance: 0.9, identity: 'b' },
      { distance: 0.4, identity: 'a' },
      { distance: 0.5, identity: 'a' },
      { distance: 0.7, identity: 'c' },
    ]);
    expect(signal).toEqual({ d1: 0.4, d2: 0.7 });
  });

  it('falls back to the farthest listed distance when every match shares the identity', () => {
    expect(exitSignal([{ distance: 0.3, identity: 'a' }, { distance: 0.8, identity: 'a' }])).toEqual({ d1: 0.3, d2: 0.8 });
    expect(exitSignal([{ distance: 0.3, identity: 'a' }])).toEqual({ d1: 0.3, d2: 0.3 });
  });

  it('refuses an empty gallery', () => {
    expect(() => exitSignal([])).toThrow(/empty/);
  });
});

describe('confidenceScore', () => {
  it('is −d1 for distance and d2 − d1 for margin (higher = more confident)', () => {
    expect(confidenceScore('distance', { d1: 0.4, d2: 0.9 })).toBe(-0.4);
    expect(confidenceScore('margin', { d1: 0.4, d2: 0.9 })).toBeCloseTo(0.5, 12);
  });

  it('needs d1, and d2 for margin', () => {
    expect(() => confidenceScore('distance', undefined)).toThrow(TypeError);
    expect(() => confidenceScore('distance', { d1: NaN })).toThrow(TypeError);
    expect(() => confidenceScore('margin', { d1: 0.4 })).toThrow(/d2/);
    expect(confidenceScore('distance', { d1: 0.4 })).toBe(-0.4);
  });
});
