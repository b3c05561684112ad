// DaRe's exit fractions for budgeted stream re-ID (Wang et al., CVPR 2018, §4):
// q_s = z·a(1−a)^(s−1), with a chosen so that the expected cost Σ q_s·C_s equals the average budget B.
//
// The factor a cancels in the normalisation, so q_s ∝ r^(s−1) with r = 1 − a. The paper's a ∈ (0, 1)
// only covers r ∈ (0, 1), i.e. expected costs between C_1 (a → 1) and mean(C) (a → 0⁺: uniform weights).
// We extend it to a ≤ 0 (r ≥ 1: weights grow towards the later stages), which reaches every budget up to
// C_n (a → −∞). The solver works on θ = ln r ∈ ℝ, where the expected cost is strictly increasing
// (it is the mean of an increasing function under an exponential family with natural parameter θ).

/** How the budget relates to the reachable range [C_1, C_n]. */
export type ExitPlanStatus =
  /** C_1 < B < C_n: Σ q_s·C_s = B. */
  | 'solved'
  /** B ≤ C_1: every query exits at stage 1 (a = 1). Infeasible when B < C_1. */
  | 'all-first'
  /** B ≥ C_n: every query runs to the last stage (a = −∞); any budget above C_n is left unspent. */
  | 'all-last';

export interface ExitPlan {
  /** Exit fraction per stage (index 0 = stage 1); sums to 1. */
  q: number[];
  /** DaRe's a = 1 − r: in (0, 1) below mean(C), 0 at mean(C), negative above, −∞ when all run to the end. */
  a: number;
  /** Σ q_s·C_s. */
  expectedCost: number;
  budget: number;
  status: ExitPlanStatus;
  /** False only when B < C_1: even exiting everything at stage 1 costs more than the budget. */
  feasible: boolean;
}

/** Throws unless `costs` are finite, non-negative and strictly increasing (cumulative stage costs). */
export function assertCumulativeCosts(costs: readonly number[]): void {
  if (costs.length === 0) throw new RangeError('at least one stage cost is needed');
  costs.forEach((c, i) => {
    if (!Number.isFinite(c) || c < 0) throw new RangeError(`stage ${i + 1} cost ${c} is not a finite cost ≥ 0`);
    if (i > 0 && c <= costs[i - 1]) {
      throw new RangeError(`cumulative costs must be strictly increasing: C_${i} = ${costs[i - 1]}, C_${i + 1} = ${c}`);
    }
  });
}

/** q_s ∝ e^{(s−1)θ}, normalised; shifted by the largest exponent so that no weight overflows. */
function fractionsForTheta(theta: number, n: number): number[] {
  const top = theta > 0 ? (n - 1) * theta : 0;
  const w = Array.from({ length: n }, (_, s) => Math.exp(s * theta - top));
  const sum = w.reduce((x, y) => x + y, 0);
  return w.map((x) => x / sum);
}

/** Σ q_s·C_s. */
export function expectedCost(q: readonly number[], costs: readonly number[]): number {
  return q.reduce((sum, qs, i) => sum + qs * costs[i], 0);
}

function oneHot(n: number, index: number): number[] {
  return Array.from({ length: n }, (_, i) => (i === index ? 1 : 0));
}

/** The exit fractions whose expected cost equals `budget`, clamped to the first/last stage outside
 * (C_1, C_n) (see {@link ExitPlanStatus}). */
export function solveExitFractions(costs: readonly number[], budget: number): ExitPlan {
  assertCumulativeCosts(costs);
  if (Number.isNaN(budget)) throw new RangeError('budget is NaN');
  const n = costs.length;
  if (budget <= costs[0]) {
    return { q: oneHot(n, 0), a: 1, expectedCost: costs[0], budget, status: 'all-first', feasible: budget === costs[0] };
  }
  if (budget >= costs[n - 1]) {
    return { q: oneHot(n, n - 1), a: -Infinity, expectedCost: costs[n - 1], budget, status: 'all-last', feasible: true };
  }
  const costAt = (theta: number) => expectedCost(fractionsForTheta(theta, n), costs);
  // Bracket the root: the cost tends to C_1 / C_n as θ → ∓∞ and reaches them exactly once the far weights
  // underflow (|θ| ≈ 750), so the doubling stops within a few steps.
  let lo = -1;
  let hi = 1;
  while (costAt(lo) >= budget) lo *= 2;
  while (costAt(hi) <= budget) hi *= 2;
  // Newton on the bracket, falling back to bisection whenever a step would leave it: the derivative of
  // the cost in θ is the covariance of the stage index and C under q, positive but tiny near the ends.
  let theta = 0;
  for (let i = 0; i < 200; i++) {
    const q = fractionsForTheta(theta, n);
    const cost = expectedCost(q, costs);
    // A few ulps of B is as close as the sum can get: iterating further only chases rounding.
    if (Math.abs(cost - budget) <= 4 * Number.EPSILON * budget) break;
    if (cost < budget) lo = theta;
    else hi = theta;
    const meanStage = q.reduce((sum, qs, s) => sum + qs * s, 0);
    const slope = q.reduce((sum, qs, s) => sum + qs * (s - meanStage) * (costs[s] - cost), 0);
    const step = theta - (cost - budget) / slope;
    const next = step > lo && step < hi ? step : lo + (hi - lo) / 2;
    if (next === theta || next === lo || next === hi) break;
    theta = next;
  }
  const q = fractionsForTheta(theta, n);
  return { q, a: 1 - Math.exp(theta), expectedCost: expectedCost(q, costs), budget, status: 'solved', feasible: true };
}

/** p_s = q_s / (1 − Σ_{i<s} q_i): the probability that a query which reached stage s exits there, so that
 * the overall exit fractions are q. The last stage, and a stage no mass should reach, always exit. */
export function conditionalExitProbabilities(q: readonly number[]): number[] {
  // Suffix sums rather than 1 − prefix: no cancellation when the early fractions are close to 1.
  const tail = new Array<number>(q.length);
  for (let i = q.length - 1, sum = 0; i >= 0; i--) tail[i] = sum += q[i];
  return q.map((qs, i) => (i === q.length - 1 || tail[i] <= 0 ? 1 : Math.min(1, qs / tail[i])));
}
