// Budgeted stream re-ID (DaRe §4): queries arrive one by one, each is asked stage by stage whether it exits
// there, and the average cost per query must stay within the budget B.
//
// Two feedback loops keep the realised average on B even when the confidence ranks are biased (early,
// noisy histories; streams whose difficulty drifts): see docs/stream.md.
//  - Budget pacing: the exit fractions of the next query are solved for B_eff = B + D/H, where D is the
//    cost surplus so far (n·B − Σ cost) and H the horizon over which it is paid back.
//  - Rate correction (score policies): a query exits at stage s when the share of the stage's history more
//    confident than it is below p_s + c_s; c_s integrates p_s − exited, so the realised conditional exit
//    rate matches p_s even when every new query ranks last in a window of easier ones.
import { assertCumulativeCosts, conditionalExitProbabilities, solveExitFractions, type ExitPlan } from './exitFractions';
import { STREAM } from '../../config';
import { ScoreWindow } from './scoreWindow';
import { confidenceScore, type ExitSignal, type RoutingPolicy } from './signals';

export interface StreamRouterOptions {
  /** Cumulative cost C_s to reach each stage's embedding (ms or MACs), strictly increasing. The last
   * stage is the full model (fused embedding). */
  costs: readonly number[];
  /** Average cost per query to stay within, in the unit of `costs`. */
  budget: number;
  policy: RoutingPolicy;
  /** Scores kept per stage (sliding window). Default STREAM.historySize (src/config.ts). */
  historySize?: number;
  /** Scores a stage needs before its ranks are trusted; until then it routes like `random`. Default STREAM.minHistory. */
  minHistory?: number;
  /** Queries over which a cost surplus or overrun is paid back (H). Default STREAM.budgetHorizon. */
  budgetHorizon?: number;
  /** Step of the per-stage rate correction. Default STREAM.rateGain. */
  rateGain?: number;
  /** Uniform [0, 1) source, for random exits and tie breaks. Default Math.random. */
  rng?: () => number;
}

export interface StreamStats {
  policy: RoutingPolicy;
  budget: number;
  /** Completed queries since the router was made or its budget last set. */
  queries: number;
  /** Mean cumulative cost of the exit stage over those queries; null before the first one. */
  averageCost: number | null;
  /** Queries that exited at each stage (index 0 = stage 1). */
  exits: number[];
  /** The exit fractions solved for B itself. */
  plan: ExitPlan;
  /** B_eff: the budget the current (or next) query is routed for. */
  effectiveBudget: number;
  /** Exit fractions and a of the current (or next) query, solved for B_eff. */
  q: number[];
  a: number;
  /** Scores held per stage (the last stage keeps none: everything exits there). */
  historySizes: number[];
  /** Per-stage rate correction c_s (0 for the random policy). */
  rateCorrections: number[];
}

interface QueryInFlight {
  stage: number;
  plan: ExitPlan;
  exitProbability: number[];
}

export class StreamRouter {
  readonly policy: RoutingPolicy;
  readonly costs: readonly number[];
  private budgetValue: number;
  private plan: ExitPlan;
  private readonly histories: ScoreWindow[];
  private readonly corrections: number[];
  private readonly minHistory: number;
  private readonly horizon: number;
  private readonly rateGain: number;
  private readonly rng: () => number;
  private queries = 0;
  private totalCost = 0;
  private exits: number[];
  private current: QueryInFlight | null = null;

  constructor(options: StreamRouterOptions) {
    assertCumulativeCosts(options.costs);
    this.costs = [...options.costs];
    this.policy = options.policy;
    this.minHistory = options.minHistory ?? STREAM.minHistory;
    this.horizon = options.budgetHorizon ?? STREAM.budgetHorizon;
    this.rateGain = options.rateGain ?? STREAM.rateGain;
    this.rng = options.rng ?? Math.random;
    if (!(this.horizon >= 1)) throw new RangeError(`budget horizon ${this.horizon} must be ≥ 1`);
    if (!(this.rateGain >= 0 && this.rateGain <= 1)) throw new RangeError(`rate gain ${this.rateGain} must be in [0, 1]`);
    const n = this.costs.length;
    this.histories = Array.from({ length: n - 1 }, () => new ScoreWindow(options.historySize ?? STREAM.historySize));
    this.corrections = new Array<number>(n - 1).fill(0);
    this.exits = new Array<number>(n).fill(0);
    this.budgetValue = options.budget;
    this.plan = solveExitFractions(this.costs, options.budget);
  }

  get budget(): number {
    return this.budgetValue;
  }

  /** Sets a new budget and restarts the cost accounting (average, histogram); histories are kept. */
  setBudget(budget: number): void {
    this.plan = solveExitFractions(this.costs, budget);
    this.budgetValue = budget;
    this.queries = 0;
    this.totalCost = 0;
    this.exits.fill(0);
  }

  /** Whether the current query exits at `stage` (1-based), given its gallery distances there. Call it
   * for stages 1, 2, … in turn until it returns true; the next call starts the next query. The last stage
   * always returns true (call it all the same: that records the query's cost). `signal` is required by
   * the distance and margin policies, except at the last stage. */
  shouldExit(stage: number, signal?: ExitSignal): boolean {
    const query = this.current ?? this.startQuery(stage);
    if (stage !== query.stage) throw new RangeError(`expected stage ${query.stage} of the current query, got ${stage}`);
    const exit = stage === this.costs.length || this.decide(stage - 1, query.exitProbability[stage - 1], signal);
    if (exit) this.finishQuery(stage - 1);
    else query.stage++;
    return exit;
  }

  stats(): StreamStats {
    const next = this.current?.plan ?? this.effectivePlan();
    return {
      policy: this.policy,
      budget: this.budgetValue,
      queries: this.queries,
      averageCost: this.queries === 0 ? null : this.totalCost / this.queries,
      exits: [...this.exits],
      plan: this.plan,
      effectiveBudget: next.budget,
      q: next.q,
      a: next.a,
      historySizes: [...this.histories.map((h) => h.length), 0],
      rateCorrections: [...this.corrections],
    };
  }

  private startQuery(stage: number): QueryInFlight {
    if (stage !== 1) throw new RangeError(`a query starts at stage 1, got ${stage}`);
    const plan = this.effectivePlan();
    this.current = { stage: 1, plan, exitProbability: conditionalExitProbabilities(plan.q) };
    return this.current;
  }

  private effectivePlan(): ExitPlan {
    const n = this.costs.length;
    const surplus = this.queries * this.budgetValue - this.totalCost;
    const paced = this.budgetValue + surplus / this.horizon;
    return solveExitFractions(this.costs, Math.min(this.costs[n - 1], Math.max(this.costs[0], paced)));
  }

  private decide(index: number, p: number, signal: ExitSignal | undefined): boolean {
    if (this.policy === 'random') return this.rng() < p;
    const score = confidenceScore(this.policy, signal);
    const history = this.histories[index];
    let exit: boolean;
    if (history.length < this.minHistory) {
      exit = this.rng() < p;
    } else if (p <= 0 || p >= 1) {
      exit = p >= 1;
    } else {
      exit = history.shareAbove(score, this.rng()) < p + this.corrections[index];
      const c = this.corrections[index] + this.rateGain * (p - (exit ? 1 : 0));
      this.corrections[index] = Math.min(1, Math.max(-1, c));
    }
    history.add(score);
    return exit;
  }

  private finishQuery(index: number): void {
    this.queries++;
    this.totalCost += this.costs[index];
    this.exits[index]++;
    this.current = null;
  }
}
