import { describe, expect, it } from 'vitest';
import { conditionalExitProbabilities } from './exitFractions';
import { seededRandom } from './random';
import { StreamRouter, type StreamRouterOptions } from './router';
import { ROUTING_POLICIES, type ExitSignal } from './signals';
import { monotoneStream, runStream, syntheticStream, type SyntheticQuery } from './simulation';

const COSTS = [10, 22, 31, 45]; // mean 27: budgets above it need a < 0

function router(options: Partial<StreamRouterOptions> & Pick<StreamRouterOptions, 'policy'>): StreamRouter {
  return new StreamRouter({ costs: COSTS, budget: 20, rng: seededRandom(1), ...options });
}

/** Runs one query whose stage-1 signal is `first` (later stages: `rest`); returns its exit stage. */
function route(r: StreamRouter, first: ExitSignal, rest: ExitSignal = { d1: 0.5, d2: 0.6 }): number {
  let stage = 1;
  while (!r.shouldExit(stage, stage === 1 ? first : rest)) stage++;
  return stage;
}

describe('StreamRouter: exit rules', () => {
  it('random: exits at stage s with probability q_s / (1 − Σ_{i<s} q_i), i.e. overall fractions q', () => {
    // Pacing off (huge horizon) so that every query is routed with the nominal q.
    const r = router({ policy: 'random', budget: 24, budgetHorizon: 1e15 });
    const n = 20000;
    for (let i = 0; i < n; i++) route(r, { d1: 0.5 });
    const { exits, plan } = r.stats();
    exits.forEach((count, s) => {
      const sd = Math.sqrt(n * plan.q[s] * (1 - plan.q[s]));
      expect(Math.abs(count - n * plan.q[s])).toBeLessThan(4 * sd);
    });
  });

  // A stage-1 history of 100 distances 0.01 … 1.00 and margins 1.00 … 0.01, then probes whose confident
  // share is 0.1 inside or outside p_1 (read before each probe: pacing moves it). Rate correction off so
  // that the rule is the bare rank rule; the history is large enough that nothing ages out.
  function probeExits(policy: 'distance' | 'margin'): void {
    const r = router({ policy, historySize: 1000, minHistory: 10, rateGain: 0 });
    const order = Array.from({ length: 100 }, (_, i) => (i * 37) % 100); // a fixed shuffle of 0 … 99
    for (const i of order) route(r, { d1: (i + 1) / 100, d2: (i + 1) / 100 + (100 - i) / 100 });
    for (let j = 0; j < 12; j++) {
      const p1 = conditionalExitProbabilities(r.stats().q)[0];
      const inside = j % 2 === 0;
      const share = Math.min(0.98, Math.max(0.02, inside ? p1 - 0.1 : p1 + 0.1));
      // Distance: d1 below `share` of the history. Margin: a margin below `share` of them, with a d1 that
      // would say the opposite, so that only d2 − d1 can get it right.
      const signal =
        policy === 'distance' ? { d1: share } : { d1: inside ? 0.99 : 0.001, d2: (inside ? 0.99 : 0.001) + 1 - share };
      expect(route(r, signal) === 1, `probe ${j}: share ${share.toFixed(2)}, p_1 ${p1.toFixed(2)}`).toBe(inside);
    }
  }

  it('distance: exits iff d1 is among the smallest share p_s of the stage history', () => probeExits('distance'));
  it('margin: exits iff d2 − d1 is among the largest share p_s of the stage history', () => probeExits('margin'));

  it('routes like random until a stage has minHistory scores (same draws, same exits)', () => {
    const queries = syntheticStream({ length: 300, stages: 4, order: 'increasing', rng: seededRandom(5) });
    const exitStages = (policy: 'random' | 'distance' | 'margin') => {
      const r = router({ policy, budget: 25, minHistory: 1000, rng: seededRandom(9) });
      return queries.map((q) => route(r, q.stages[0].signal, q.stages[1].signal));
    };
    const random = exitStages('random');
    expect(exitStages('distance')).toEqual(random);
    expect(exitStages('margin')).toEqual(random);
    // Once warm, the distance policy does route differently on this stream.
    const warm = router({ policy: 'distance', budget: 25, minHistory: 20, rng: seededRandom(9) });
    expect(queries.map((q) => route(warm, q.stages[0].signal, q.stages[1].signal))).not.toEqual(random);
  });

  it('caps every stage history at historySize', () => {
    for (const policy of ['distance', 'margin'] as const) {
      const r = router({ policy, budget: 35, historySize: 40 });
      runStream(r, syntheticStream({ length: 2000, stages: 4, order: 'shuffled', rng: seededRandom(2) }));
      const sizes = r.stats().historySizes;
      expect(sizes).toEqual([40, 40, 40, 0]);
    }
  });

  it('checks the stage order and the signals the policy needs', () => {
    const r = router({ policy: 'margin' });
    expect(() => r.shouldExit(2, { d1: 0.1, d2: 0.3 })).toThrow(/starts at stage 1/);
    expect(() => r.shouldExit(1, { d1: 0.1 })).toThrow(/d2/);
    const fresh = router({ policy: 'distance', budget: 45 }); // everything runs to the last stage
    expect(fresh.shouldExit(1, { d1: 0.1 })).toBe(false);
    expect(() => fresh.shouldExit(3, { d1: 0.1 })).toThrow(/expected stage 2/);
    expect(fresh.shouldExit(2, { d1: 0.1 })).toBe(false);
    expect(fresh.shouldExit(3, { d1: 0.1 })).toBe(false);
    expect(fresh.shouldExit(4)).toBe(true); // the last stage needs no signal
    expect(fresh.stats()).toMatchObject({ queries: 1, averageCost: 45, exits: [0, 0, 0, 1] });
  });
});

describe('StreamRouter: average cost', () => {
  const streams: [string, (seed: number) => SyntheticQuery[]][] = [
    ['shuffled', (seed) => syntheticStream({ length: 600, stages: 4, order: 'shuffled', rng: seededRandom(seed) })],
    ['increasing difficulty', (seed) => syntheticStream({ length: 600, stages: 4, order: 'increasing', rng: seededRandom(seed) })],
    ['decreasing difficulty', (seed) => syntheticStream({ length: 600, stages: 4, order: 'decreasing', rng: seededRandom(seed) })],
    ['each query harder than all before', () => monotoneStream(600, 4, 'harder')],
    ['each query easier than all before', () => monotoneStream(600, 4, 'easier')],
  ];
  const budgets = [11, 15, 20, 26, 30, 36, 44];

  for (const policy of ROUTING_POLICIES) {
    for (const [name, make] of streams) {
      it(`${policy}, ${name}: within 5 % of B from query 200 on, for budgets ${budgets.join(', ')}`, () => {
        for (const budget of budgets) {
          for (const seed of [1, 2]) {
            const r = router({ policy, budget, rng: seededRandom(100 + seed) });
            const { averageCost } = runStream(r, make(seed));
            const worst = Math.max(...averageCost.slice(199).map((c) => Math.abs(c - budget) / budget));
            expect(worst, `B = ${budget}, seed ${seed}`).toBeLessThanOrEqual(0.05);
          }
        }
      });
    }
  }

  it('matches the budget on real MAC costs too', () => {
    const macs = [14426112, 19884032, 37359616, 51665920];
    for (const policy of ROUTING_POLICIES) {
      const budget = 30e6;
      const r = new StreamRouter({ costs: macs, budget, policy, rng: seededRandom(4) });
      const { averageCost } = runStream(r, syntheticStream({ length: 400, stages: 4, order: 'shuffled', rng: seededRandom(4) }));
      expect(Math.abs(averageCost[399] - budget) / budget).toBeLessThanOrEqual(0.05);
    }
  });

  it('spends C_1 on an infeasible budget and C_n on one above it', () => {
    for (const policy of ROUTING_POLICIES) {
      const low = router({ policy, budget: 5 });
      runStream(low, syntheticStream({ length: 100, stages: 4, order: 'shuffled', rng: seededRandom(3) }));
      expect(low.stats()).toMatchObject({ averageCost: 10, exits: [100, 0, 0, 0], q: [1, 0, 0, 0], a: 1 });
      expect(low.stats().plan).toMatchObject({ status: 'all-first', feasible: false });
      const high = router({ policy, budget: 50 });
      runStream(high, syntheticStream({ length: 100, stages: 4, order: 'shuffled', rng: seededRandom(3) }));
      expect(high.stats()).toMatchObject({ averageCost: 45, exits: [0, 0, 0, 100], q: [0, 0, 0, 1], a: -Infinity });
      expect(high.stats().plan.status).toBe('all-last');
    }
  });

  it('reports q and a of the paced budget, and restarts the accounting on setBudget', () => {
    const r = router({ policy: 'margin', budget: 20 });
    const queries = syntheticStream({ length: 400, stages: 4, order: 'shuffled', rng: seededRandom(8) });
    runStream(r, queries);
    const stats = r.stats();
    expect(stats.queries).toBe(400);
    expect(stats.averageCost).toBeCloseTo(runStream(router({ policy: 'margin', budget: 20 }), queries).averageCost[399], 9);
    expect(stats.exits.reduce((x, y) => x + y, 0)).toBe(400);
    expect(Math.abs(stats.q.reduce((x, y) => x + y, 0) - 1)).toBeLessThan(1e-12);
    expect(stats.effectiveBudget).toBeGreaterThanOrEqual(10);
    expect(stats.effectiveBudget).toBeLessThanOrEqual(45);
    expect(stats.a).toBeGreaterThan(0); // B_eff stays near 20 < mean(C)
    expect(Math.abs(stats.effectiveBudget - 20)).toBeLessThan(0.25 * 20);

    r.setBudget(40);
    expect(r.stats()).toMatchObject({ budget: 40, queries: 0, averageCost: null, exits: [0, 0, 0, 0], effectiveBudget: 40 });
    expect(r.stats().historySizes[0]).toBe(256);
    expect(r.stats().a).toBeLessThan(0);
    const { averageCost } = runStream(r, queries);
    expect(Math.abs(averageCost[399] - 40) / 40).toBeLessThanOrEqual(0.05);
  });
});

describe('StreamRouter: routing quality', () => {
  it('margin ≥ distance ≥ random accuracy when confidence tracks correctness (same budget)', () => {
    const queries = syntheticStream({ length: 4000, stages: 4, order: 'shuffled', rng: seededRandom(21) });
    for (const budget of [18, 26, 34]) {
      const accuracy = Object.fromEntries(
        ROUTING_POLICIES.map((policy) => {
          const run = runStream(router({ policy, budget, rng: seededRandom(22) }), queries);
          expect(Math.abs(run.averageCost[3999] - budget) / budget).toBeLessThan(0.05);
          return [policy, run.accuracy];
        }),
      );
      expect(accuracy.margin, `B = ${budget}`).toBeGreaterThanOrEqual(accuracy.distance);
      expect(accuracy.distance, `B = ${budget}`).toBeGreaterThan(accuracy.random);
    }
  });
});
