import { describe, expect, it } from 'vitest';
import { seededRandom } from './random';
import { ScoreWindow } from './scoreWindow';

describe('ScoreWindow', () => {
  it('keeps exactly the last `capacity` scores, sorted, however many arrive', () => {
    const rng = seededRandom(3);
    const window = new ScoreWindow(50);
    const all: number[] = [];
    for (let i = 0; i < 5000; i++) {
      // Coarse values so that ties (and dropping one of several equal scores) happen often.
      const score = Math.round(rng() * 20) / 20;
      window.add(score);
      all.push(score);
      expect(window.length).toBe(Math.min(i + 1, 50));
    }
    expect(window.values()).toEqual(all.slice(-50).sort((x, y) => x - y));
  });

  it('ranks a score by the share of the window above it, ties counted by tieShare', () => {
    const window = new ScoreWindow(10);
    for (const s of [1, 2, 2, 3, 4, 5, 5, 5, 6, 7]) window.add(s);
    expect(window.shareAbove(5, 0)).toBe(2 / 10);
    expect(window.shareAbove(5, 1)).toBe(5 / 10);
    expect(window.shareAbove(5, 0.5)).toBe(3.5 / 10);
    expect(window.shareAbove(0, 0.3)).toBe(1);
    expect(window.shareAbove(8, 0.3)).toBe(0);
    expect(window.shareAbove(Infinity, 0)).toBe(0);
    expect(new ScoreWindow(4).shareAbove(1, 0.5)).toBe(0);
  });

  it('holds infinite scores and rejects NaN and bad capacities', () => {
    const window = new ScoreWindow(3);
    window.add(Infinity);
    window.add(-Infinity);
    window.add(0);
    window.add(Infinity); // drops the first Infinity
    expect(window.values()).toEqual([-Infinity, 0, Infinity]);
    expect(() => window.add(NaN)).toThrow(RangeError);
    expect(() => new ScoreWindow(0)).toThrow(RangeError);
    expect(() => new ScoreWindow(2.5)).toThrow(RangeError);
  });
});
