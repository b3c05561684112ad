// The budgeted stream on a fixed evaluation set (DaRe Fig. 6): queries arrive in a seeded shuffled order,
// the StreamRouter decides after each exit whether the query stops there, and the exit stage's ranking
// is the one that counts for that query's rank-1 and AP.
import { seededPermutation, seededRandom, StreamRouter, type RoutingPolicy } from '../../src/engine/stream/index';
import type { QueryScore } from './metrics';

/** `count` budgets evenly spaced strictly between the first and the last cumulative cost. */
export function budgetPoints(costs: readonly number[], count: number): number[] {
  const first = costs[0];
  const last = costs[costs.length - 1];
  return Array.from({ length: count }, (_, k) => first + ((last - first) * (k + 1)) / (count + 1));
}

export interface BudgetedPoint {
  budget: number;
  /** Realised mean cost per query. */
  averageCost: number;
  rank1: number;
  mAP: number;
  /** Queries that exited at each exit (index 0 = exit 1). */
  exits: number[];
}

/** One pass of the stream. `scores[q][s]` is query q scored with exit s's embeddings (s = 0…n−1, the
 * last exit being the full model); the router sees its d1 and d2 (what `exitSignal` reports in the app). */
export function runBudgetedStream(
  scores: readonly (readonly QueryScore[])[],
  costs: readonly number[],
  budget: number,
  policy: RoutingPolicy,
  seed: number,
): BudgetedPoint {
  const router = new StreamRouter({ costs, budget, policy, rng: seededRandom(seed ^ 0x5bd1e995) });
  let hits = 0;
  let ap = 0;
  for (const q of seededPermutation(scores.length, seed)) {
    for (let s = 0; s < costs.length; s++) {
      const { d1, d2 } = scores[q][s];
      if (router.shouldExit(s + 1, { d1, d2 })) {
        if (scores[q][s].correct) hits++;
        ap += scores[q][s].ap;
        break;
      }
    }
  }
  const stats = router.stats();
  return { budget, averageCost: stats.averageCost ?? Number.NaN, rank1: hits / scores.length, mAP: ap / scores.length, exits: stats.exits };
}

/** The mean of `runs` passes with seeds 1…runs (each its own query order and random draws). */
export function averagedBudgetedStream(
  scores: readonly (readonly QueryScore[])[],
  costs: readonly number[],
  budget: number,
  policy: RoutingPolicy,
  runs: number,
): BudgetedPoint {
  const points = Array.from({ length: runs }, (_, i) => runBudgetedStream(scores, costs, budget, policy, i + 1));
  const mean = (f: (p: BudgetedPoint) => number) => points.reduce((a, p) => a + f(p), 0) / runs;
  return {
    budget,
    averageCost: mean((p) => p.averageCost),
    rank1: mean((p) => p.rank1),
    mAP: mean((p) => p.mAP),
    exits: costs.map((_, s) => mean((p) => p.exits[s])),
  };
}
