// The search budget slider's scale: milliseconds up to a top that reaches well past a full pass, and the
// top itself meaning "no limit" (the whole model, however long it takes). Without that stop, "the best
// answer" would hang on a calibration: on a device busier than when it was measured, ten times a full
// pass can still fall short of fused.

import { budgetForStage, type StageCosts } from '../engine';

/** The budget of the slider's top: no deadline. */
export const NO_LIMIT = Infinity;

/** Whether a budget is the slider's top: no deadline at all. */
export const isNoLimit = (budgetMs: number): boolean => !Number.isFinite(budgetMs);

/** Where the millisecond range ends: ten times a full pass (room for a busy device), at least 100 ms,
 * rounded up to a readable number, and past a saved budget so that it stays a budget of its own. */
export function sliderTop(costs: StageCosts | null, flip: boolean, budgetMs: number): number {
  const full = costs ? budgetForStage(costs, 'fused', flip) : 0;
  const want = Math.max(100, 10 * full);
  const step = 10 ** Math.floor(Math.log10(want));
  const top = Math.ceil(want / step) * step;
  return !isNoLimit(budgetMs) && budgetMs >= top ? Math.ceil(budgetMs) + 1 : top;
}

/** The slider position of a budget. */
export const sliderPosition = (budgetMs: number, top: number): number => (isNoLimit(budgetMs) ? top : Math.min(budgetMs, top - 1));

/** The budget of a slider position. */
export const budgetAt = (position: number, top: number): number => (position >= top ? NO_LIMIT : position);

/** "33 ms", or "no limit". */
export const budgetLabel = (budgetMs: number): string => (isNoLimit(budgetMs) ? 'no limit' : `${budgetMs} ms`);
