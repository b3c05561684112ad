// The average budgets a budgeted-stream curve is drawn at, and one pass of a query stream through the
// router: shared by the app's stream replay (src/app/streamReplay.ts) and bench/curves.
import { seededPermutation, seededRandom, StreamRouter, type ExitSignal, type RoutingPolicy, type StreamStats } from '../engine/stream';

/** `count` budgets evenly spaced strictly between the first and the last cumulative cost. */
export function budgetPoints(costs: readonly number[], count: number): number[] {
  const first = costs[0];
  const last = costs[costs.length - 1];
  return Array.from({ length: count }, (_, k) => first + ((last - first) * (k + 1)) / (count + 1));
}

export interface RoutedQuery {
  /** Index of the query in the input. */
  query: number;
  /** 1-based exit that answered it (the last is the full model). */
  exit: number;
}

export interface RoutedStream {
  /** In arrival order. */
  routed: RoutedQuery[];
  stats: StreamStats;
}

/** Streams the queries in a seeded shuffled order through a router for `budget` (in the unit of `costs`,
 * each exit's cumulative cost). `signals[q][s]` is what query q's gallery distances say at exit s + 1. */
export function routeStream(
  signals: readonly (readonly ExitSignal[])[],
  costs: readonly number[],
  budget: number,
  policy: RoutingPolicy,
  seed: number,
): RoutedStream {
  const router = new StreamRouter({ costs, budget, policy, rng: seededRandom(seed ^ 0x5bd1e995) });
  const routed = seededPermutation(signals.length, seed).map((query) => {
    let exit = 1;
    while (!router.shouldExit(exit, signals[query][exit - 1])) exit++;
    return { query, exit };
  });
  return { routed, stats: router.stats() };
}
