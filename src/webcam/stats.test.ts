import { describe, expect, it } from 'vitest';
import { FrameStats } from './stats';

const frame = (totalMs: number, budgetMs = 50) => ({ totalMs, budgetMs, grabMs: 1, detectorMs: totalMs / 2, detectorSide: 192, overran: totalMs > budgetMs });

describe('FrameStats', () => {
  it('counts frames per second over the last second and the frames that overran', () => {
    const stats = new FrameStats();
    let s = stats.add(0, frame(40));
    expect(s.fps).toBe(0);
    for (let t = 100; t <= 2000; t += 100) s = stats.add(t, frame(t % 500 === 0 ? 70 : 40));
    expect(s.fps).toBeCloseTo(10);
    expect(s.frames).toBe(21);
    // Over budget at t = 500, 1000, 1500, 2000.
    expect(s.overruns).toBe(4);
    expect(s).toMatchObject({ lastFrameMs: 70, lastBudgetMs: 50, lastGrabMs: 1, lastDetectorMs: 35, lastDetectorSide: 192 });
  });

  it('follows a slowdown within a second', () => {
    const stats = new FrameStats();
    let s = stats.add(0, frame(10));
    for (let t = 50; t <= 1000; t += 50) s = stats.add(t, frame(10));
    expect(s.fps).toBeCloseTo(20);
    for (let t = 1250; t <= 2500; t += 250) s = stats.add(t, frame(10));
    expect(s.fps).toBeCloseTo(4);
  });
});
