import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REFERENCE_MODEL } from '../../shippedModel';
import { parseDareMetadata } from '../model';
import type { StageCosts } from '../types';
import { cumulativeMacs, cumulativeMs } from './costs';
import { conditionalExitProbabilities, expectedCost, solveExitFractions } from './exitFractions';

const shippedMeta = parseDareMetadata(
  (JSON.parse(readFileSync(new URL(`../../../models/${REFERENCE_MODEL}/model.json`, import.meta.url), 'utf8')) as {
    userDefinedMetadata: { dare: unknown };
  }).userDefinedMetadata.dare,
);

const COST_SETS: number[][] = [
  [10, 22, 31, 45],
  [1, 2, 3, 4],
  [3.2, 3.9, 7.5, 12.8],
  cumulativeMacs(shippedMeta),
  [5, 100],
  [1, 1.5, 2, 4, 8, 30],
];

const mean = (xs: readonly number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;

describe('solveExitFractions', () => {
  for (const costs of COST_SETS) {
    const first = costs[0];
    const last = costs[costs.length - 1];
    // Budgets spread over (C_1, C_n), on both sides of mean(C), plus points hugging the ends.
    const budgets = [
      ...Array.from({ length: 19 }, (_, i) => first + ((i + 1) / 20) * (last - first)),
      mean(costs),
      first * (1 + 1e-9),
      last * (1 - 1e-9),
    ];

    it(`meets every budget in (C_1, C_n) for costs ${costs.join(', ')}`, () => {
      for (const budget of budgets) {
        const plan = solveExitFractions(costs, budget);
        expect(plan.status).toBe('solved');
        expect(plan.feasible).toBe(true);
        expect(Math.abs(expectedCost(plan.q, costs) - budget) / budget).toBeLessThanOrEqual(1e-9);
        expect(plan.expectedCost).toBeCloseTo(expectedCost(plan.q, costs), 12);
        expect(Math.abs(plan.q.reduce((x, y) => x + y, 0) - 1)).toBeLessThan(1e-12);
        for (const qs of plan.q) expect(qs).toBeGreaterThanOrEqual(0);
      }
    });

    it(`follows q_s = z·a(1−a)^(s−1), with a < 0 above mean(C), for costs ${costs.join(', ')}`, () => {
      const mid = mean(costs);
      let previousA = Infinity;
      for (const budget of [...new Set(budgets)].sort((x, y) => x - y)) {
        const { q, a } = solveExitFractions(costs, budget);
        expect(a).toBeLessThan(previousA); // a falls as the budget grows
        previousA = a;
        if (Math.abs(budget - mid) / mid < 1e-12) {
          expect(Math.abs(a)).toBeLessThan(1e-9);
          for (const qs of q) expect(qs).toBeCloseTo(1 / costs.length, 9);
          continue;
        }
        expect(a > 0).toBe(budget < mid);
        expect(a).toBeLessThan(1);
        const raw = costs.map((_, s) => a * (1 - a) ** s);
        const z = 1 / raw.reduce((x, y) => x + y, 0);
        raw.forEach((r, s) => expect(q[s]).toBeCloseTo(z * r, 9));
      }
    });
  }

  it('clamps budgets at or below C_1 to stage 1, and flags those below as infeasible', () => {
    const costs = [10, 22, 31, 45];
    const below = solveExitFractions(costs, 4);
    expect(below).toEqual({ q: [1, 0, 0, 0], a: 1, expectedCost: 10, budget: 4, status: 'all-first', feasible: false });
    const at = solveExitFractions(costs, 10);
    expect(at.status).toBe('all-first');
    expect(at.feasible).toBe(true);
    expect(at.q).toEqual([1, 0, 0, 0]);
  });

  it('runs everything to the last stage at or above C_n (a = −∞)', () => {
    const costs = [10, 22, 31, 45];
    for (const budget of [45, 60, Infinity]) {
      const plan = solveExitFractions(costs, budget);
      expect(plan).toMatchObject({ q: [0, 0, 0, 1], a: -Infinity, expectedCost: 45, status: 'all-last', feasible: true });
    }
  });

  it('gives a single stage all the mass', () => {
    expect(solveExitFractions([7], 3).q).toEqual([1]);
    expect(solveExitFractions([7], 9).q).toEqual([1]);
  });

  it('rejects costs that are not cumulative, and a NaN budget', () => {
    expect(() => solveExitFractions([], 1)).toThrow(RangeError);
    expect(() => solveExitFractions([1, 1, 2], 1.5)).toThrow(/strictly increasing/);
    expect(() => solveExitFractions([2, 1], 1.5)).toThrow(/strictly increasing/);
    expect(() => solveExitFractions([1, NaN], 1.5)).toThrow(RangeError);
    expect(() => solveExitFractions([-1, 2], 1.5)).toThrow(RangeError);
    expect(() => solveExitFractions([1, 2], NaN)).toThrow(RangeError);
  });
});

describe('conditionalExitProbabilities', () => {
  it('reproduces the exit fractions stage by stage: q_s = p_s·Π_{i<s}(1 − p_i)', () => {
    for (const budget of [12, 20, 27, 40]) {
      const { q } = solveExitFractions([10, 22, 31, 45], budget);
      const p = conditionalExitProbabilities(q);
      expect(p[3]).toBe(1);
      let reach = 1;
      p.forEach((ps, s) => {
        expect(ps).toBeGreaterThanOrEqual(0);
        expect(ps).toBeLessThanOrEqual(1);
        expect(reach * ps).toBeCloseTo(q[s], 12);
        reach *= 1 - ps;
      });
    }
  });

  it('exits at once from a stage that no mass should reach', () => {
    expect(conditionalExitProbabilities([1, 0, 0, 0])).toEqual([1, 1, 1, 1]);
    expect(conditionalExitProbabilities([0, 0, 0, 1])).toEqual([0, 0, 0, 1]);
    expect(conditionalExitProbabilities([0.5, 0.5, 0, 0])).toEqual([0.5, 1, 1, 1]);
  });
});

describe('cumulative costs', () => {
  it('adds the step costs, with the fusion in the last stage', () => {
    const calibrated: StageCosts = { backend: 'wasm', modelUrl: 'm', ms: [3, 1, 2, 4, 0.5], samples: 5, updatedAt: 0 };
    expect(cumulativeMs(calibrated)).toEqual([3, 4, 6, 10.5]);
    expect(() => cumulativeMs(calibrated, true)).toThrow(/flip/);
    expect(cumulativeMs({ ...calibrated, flipMs: [5, 2, 3, 7, 0.5] }, true)).toEqual([5, 7, 10, 17.5]);
  });

  it('reads the shipped model MACs as strictly increasing cumulative costs', () => {
    const macs = cumulativeMacs(shippedMeta);
    expect(macs).toHaveLength(shippedMeta.stages.length);
    const plan = solveExitFractions(macs, mean(macs));
    expect(plan.status).toBe('solved');
  });
});
