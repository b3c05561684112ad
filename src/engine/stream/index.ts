// Budgeted stream re-ID (DaRe §4): exit fractions for an average budget and the routing policies that
// realise them query by query. Design and edge cases: docs/stream.md.
//
//   const router = new StreamRouter({ costs: cumulativeMs(engine.costs()), budget: 25, policy: 'margin' });
//   for each query, stage s = 1, 2, …: embed stage s (the last one: fused), search the gallery, then
//     if (router.shouldExit(s, exitSignal(matchesWithIdentity))) stop;
//   router.stats()   // average cost, exit histogram, q and a
export {
  solveExitFractions,
  conditionalExitProbabilities,
  expectedCost,
  type ExitPlan,
  type ExitPlanStatus,
} from './exitFractions';
export { StreamRouter, type StreamRouterOptions, type StreamStats } from './router';
export {
  exitSignal,
  confidenceScore,
  ROUTING_POLICIES,
  type RoutingPolicy,
  type ExitSignal,
  type LabelledMatch,
} from './signals';
export { cumulativeMs, cumulativeMacs } from './costs';
export { seededPermutation, seededRandom } from './random';
