// The budgeted stream on a fixed evaluation set (DaRe Fig. 6): queries arrive in a seeded shuffled order,
// the StreamRouter decides after each exit whether the query stops there (the stream pass the app's replay
// makes too: src/protocol routeStream), and the exit stage's ranking is the one that counts for that
// query's rank-1 and AP.
import type { RoutingPolicy } from '../../src/engine/stream/index';
import { routeStream } from '../../src/protocol/index';
import type { QueryScore } from './metrics';

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
  const { routed, stats } = routeStream(scores, costs, budget, policy, seed);
  let hits = 0;
  let ap = 0;
  for (const { query, exit } of routed) {
    const score = scores[query][exit - 1];
    if (score.correct) hits++;
    ap += score.ap;
  }
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
