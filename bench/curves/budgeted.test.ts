import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/engine/stream/index';
import { averagedBudgetedStream, runBudgetedStream } from './budgeted';
import type { QueryScore } from './metrics';

const COSTS = [10, 22, 31, 45];

/** Queries whose later exits are more often right, and whose margin d2 − d1 tells right from wrong. */
function syntheticScores(n: number, seed: number): QueryScore[][] {
  const rng = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const difficulty = rng();
    return COSTS.map((_, s) => {
      const correct = difficulty < 0.3 + 0.15 * s;
      const d1 = 0.5 + 0.3 * rng();
      return { correct, ap: correct ? 1 : 0.2, d1, d2: d1 + (correct ? 0.1 + 0.2 * rng() : 0.15 * rng()) };
    });
  });
}

describe('budget sweep', () => {
  it('keeps the average cost on the budget and counts every query once', () => {
    const scores = syntheticScores(1000, 5);
    for (const policy of ['random', 'distance', 'margin'] as const) {
      const p = runBudgetedStream(scores, COSTS, 26, policy, 1);
      expect(p.exits.reduce((a, b) => a + b, 0)).toBe(1000);
      expect(Math.abs(p.averageCost - 26) / 26).toBeLessThan(0.05);
    }
  });

  it('routing on the margin beats random exits when the margin is informative', () => {
    const scores = syntheticScores(1000, 9);
    const random = averagedBudgetedStream(scores, COSTS, 26, 'random', 3);
    const margin = averagedBudgetedStream(scores, COSTS, 26, 'margin', 3);
    expect(margin.rank1).toBeGreaterThan(random.rank1 + 0.03);
    expect(random.exits.reduce((a, b) => a + b, 0)).toBeCloseTo(1000, 9);
  });
});
