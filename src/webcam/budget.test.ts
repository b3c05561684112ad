import { describe, expect, it } from 'vitest';
import { StageLayout } from '../engine/stages';

const STEPS = new StageLayout(4).stepCount;
import { compareUncertainty, deadlineFor, planFrame, type PlanTrack } from './budget';

// Stage 1–4, fusion.
const STEP_MS = [4, 2, 3, 3, 0.5];
const track = (id: number, partsDone = 0, margin: number | null = null): PlanTrack => ({ id, partsDone, margin, order: id });

describe('planFrame', () => {
  it('gives the engine only what the detector left, and never plans past the budget', () => {
    const tracks = [track(1), track(2), track(3)];
    for (const budget of [13, 20, 33, 50]) {
      const plan = planFrame({ budgetMs: budget, elapsedMs: 8, partMs: STEP_MS, perPersonMs: 1, tracks });
      const planned = plan.reduce((s, a) => s + a.ms, 0);
      expect(planned).toBeLessThanOrEqual(budget - 8);
    }
  });

  it('answers everyone at stage 1 before taking anyone deeper', () => {
    // 3 × (4 + 1) = 15 ms for everyone's stage 1; 17 ms leaves 2 for one stage 2.
    const plan = planFrame({ budgetMs: 17, elapsedMs: 0, partMs: STEP_MS, perPersonMs: 1, tracks: [track(1), track(2), track(3)] });
    expect(plan.map((a) => a.id)).toEqual([1, 2, 3]);
    expect(plan.map((a) => a.parts)).toEqual([2, 1, 1]);
  });

  it('spends the budget on the least certain person: shallowest stage, then closest to the threshold', () => {
    const tracks = [track(1, 4, 0.5), track(2, 2, 0.9), track(3, 2, 0.1)];
    const plan = planFrame({ budgetMs: 4, elapsedMs: 0, partMs: STEP_MS, perPersonMs: 1, tracks });
    expect(plan).toEqual([{ id: 3, parts: 1, ms: 4 }]);
  });

  it('lets a step that fits go to someone else when the most uncertain person’s next step does not', () => {
    const tracks = [track(1, 2, 0.1), track(2, 4, 0.5)];
    // Person 1 needs 3 + 1 for stage 3; only 2 ms are left, enough for person 2's fusion (0.5 + 1).
    const plan = planFrame({ budgetMs: 12, elapsedMs: 10, partMs: STEP_MS, perPersonMs: 1, tracks });
    expect(plan).toEqual([{ id: 2, parts: 1, ms: 1.5 }]);
  });

  it('still gives stage 1 to a person with no answer when nothing fits (an overrun beats no answer)', () => {
    const plan = planFrame({ budgetMs: 33, elapsedMs: 40, partMs: STEP_MS, perPersonMs: 1, tracks: [track(1, 3, 0.2), track(2), track(3)] });
    expect(plan).toEqual([{ id: 2, parts: 1, ms: 5, forced: true }]);
    expect(planFrame({ budgetMs: 33, elapsedMs: 40, partMs: STEP_MS, perPersonMs: 1, tracks: [track(1, 3, 0.2)] })).toEqual([]);
  });

  it('carries a person who stays in view to the fusion over frames with a budget that fits one step', () => {
    // 5 ms left per frame: stage 1 alone (4 + 1) fits, stages 1–4 and the fusion (12.5 + 1) never would.
    let done = 0;
    let frames = 0;
    while (done < STEPS && frames < STEPS) {
      const plan = planFrame({ budgetMs: 30, elapsedMs: 25, partMs: STEP_MS, perPersonMs: 1, tracks: [track(7, done, 0.3)] });
      expect(plan).toHaveLength(1);
      expect(plan[0].ms).toBeLessThanOrEqual(5);
      done += plan[0].parts;
      frames++;
    }
    expect(done).toBe(STEPS);
    expect(planFrame({ budgetMs: 30, elapsedMs: 25, partMs: STEP_MS, perPersonMs: 1, tracks: [track(7, done, 0.3)] })).toEqual([]);
  });

  it('carries a person to the fusion over frames when an exit costs more than a frame leaves, once it is cut into parts', () => {
    // The shipped model's shape on wasm: exit 1 7.5 ms, exit 2 15.6 ms, the fusion ~0; 8 ms left per frame.
    const whole = [7.5, 15.6, 0.01];
    const frames = (partMs: number[]): number | null => {
      let done = 0;
      for (let frame = 1; frame <= 20; frame++) {
        const plan = planFrame({ budgetMs: 33, elapsedMs: 25, partMs, perPersonMs: 0.5, tracks: [track(7, done, 0.3)] });
        done += plan[0]?.parts ?? 0;
        if (done === partMs.length) return frame;
      }
      return null;
    };
    expect(frames(whole)).toBeNull(); // exit 2 as one step never fits
    // The same exits in parts (each exit's stem, its first three stages, then conv5 and the head).
    const parts = [1.6, 2.4, 2.1, 1.1, 0.3, 3.7, 4.8, 4.0, 2.6, 0.6, 0.01];
    const reached = frames(parts);
    expect(reached).not.toBeNull();
    expect(reached!).toBeLessThanOrEqual(6);
  });

  it('gives a person with no answer every part up to stage 1 when nothing fits', () => {
    const parts = [1, 1, 1, 5, 5, 0.1];
    expect(planFrame({ budgetMs: 33, elapsedMs: 40, partMs: parts, firstAnswerParts: 3, perPersonMs: 1, tracks: [track(1)] })).toEqual([{ id: 1, parts: 3, ms: 4, forced: true }]);
  });

  it('refreshes complete answers only with what everyone else left, finishing a started refresh first', () => {
    const refresh = (id: number, partsDone: number): PlanTrack => ({ ...track(id, partsDone, 0.9), refresh: true });
    const tracks = [refresh(1, 0), refresh(2, 2), track(3, 4, 0.9)];
    // 1.5 ms: person 3's fusion (0.5 + 1) and nothing for the refreshes.
    expect(planFrame({ budgetMs: 1.5, elapsedMs: 0, partMs: STEP_MS, perPersonMs: 1, tracks })).toEqual([{ id: 3, parts: 1, ms: 1.5 }]);
    // 6 ms: then person 2's started refresh (stage 3: 3 + 1); person 1's new one (4 + 1) no longer fits.
    expect(planFrame({ budgetMs: 6, elapsedMs: 0, partMs: STEP_MS, perPersonMs: 1, tracks })).toEqual([
      { id: 3, parts: 1, ms: 1.5 },
      { id: 2, parts: 1, ms: 4 },
    ]);
    // Nothing fits and only refreshes are waiting: no forced step.
    expect(planFrame({ budgetMs: 1, elapsedMs: 5, partMs: STEP_MS, perPersonMs: 1, tracks: [refresh(1, 0)] })).toEqual([]);
  });
});

describe('compareUncertainty', () => {
  it('orders no answer, then shallower, then smaller margin, then earlier arrival', () => {
    const sorted = [track(5, 3, 0.1), track(4, 1, 0.9), track(3, 1, 0.2), track(2, 0), track(1, 1, 0.2)].sort(compareUncertainty);
    expect(sorted.map((t) => t.id)).toEqual([2, 1, 3, 4, 5]);
  });
});

describe('deadlineFor', () => {
  it('lets a person use what earlier people left, but not what later people were promised', () => {
    const plan = [
      { id: 1, parts: 1, ms: 5 },
      { id: 2, parts: 2, ms: 8 },
      { id: 3, parts: 1, ms: 5 },
    ];
    expect(deadlineFor(plan, 0, 20)).toBe(7);
    // Person 1 was quick: 17 ms left when person 2 starts, 5 still promised to person 3.
    expect(deadlineFor(plan, 1, 17)).toBe(12);
    expect(deadlineFor(plan, 2, 3)).toBe(3);
    expect(deadlineFor(plan, 1, 2)).toBe(0);
  });
});
