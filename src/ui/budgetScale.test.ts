import { describe, expect, it } from 'vitest';
import type { StageCosts } from '../engine';
import { budgetAt, budgetLabel, isNoLimit, NO_LIMIT, sliderPosition, sliderTop } from './budgetScale';

/** A chain model's costs: four stages and the fusion step, 12 ms in all. */
const costs: StageCosts = { backend: 'wasm', modelUrl: '/models/test/model.json', ms: [5, 3, 2, 1.5, 0.5], samples: 0, updatedAt: 0 };

describe('the search budget slider', () => {
  it('reaches ten times a full pass, at least 100 ms, rounded up', () => {
    expect(sliderTop(costs, false, 33)).toBe(200);
    expect(sliderTop(null, false, 33)).toBe(100);
  });

  it('keeps a saved budget above its range a budget of its own, below the no-limit stop', () => {
    const top = sliderTop(costs, false, 450);
    expect(top).toBe(451);
    expect(sliderPosition(450, top)).toBe(450);
    expect(budgetAt(sliderPosition(450, top), top)).toBe(450);
  });

  it('puts no limit at the top, and every other position is its milliseconds', () => {
    const top = sliderTop(costs, false, NO_LIMIT);
    expect(top).toBe(200);
    expect(sliderPosition(NO_LIMIT, top)).toBe(top);
    expect(budgetAt(top, top)).toBe(NO_LIMIT);
    expect(budgetAt(top - 1, top)).toBe(top - 1);
    expect(budgetAt(1, top)).toBe(1);
  });

  it('says what a budget is', () => {
    expect(budgetLabel(33)).toBe('33 ms');
    expect(budgetLabel(NO_LIMIT)).toBe('no limit');
    expect(isNoLimit(NO_LIMIT)).toBe(true);
    expect(isNoLimit(1e9)).toBe(false);
  });
});
