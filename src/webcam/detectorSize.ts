// The detector's input size follows the frame budget: the largest size whose cautious expected cost
// (mean plus twice the mean deviation, see src/engine/runningCost.ts) still leaves room for stage 1 of one person. A smaller input costs less and only misses people who are small in the
// frame. Each size's cost is measured once at start; afterwards only the size in use is measured, and its
// drift (a busier or idler device) is applied to the others' estimates.

import { DETECTOR } from '../config';
import { RunningCost } from '../engine/runningCost';


export class DetectorSizer {
  private readonly baseline = new Map<number, number>();
  /** Measured cost over baseline cost of the size in use. */
  private readonly load = new RunningCost(1, DETECTOR.loadLearningRate);

  constructor(readonly sides: readonly number[] = DETECTOR.sides) {}

  /** Records a start-up measurement of one size. */
  setBaseline(side: number, ms: number): void {
    this.baseline.set(side, Math.max(ms, 0.1));
  }

  /** The input size to use with `budgetMs`, keeping `reserveMs` for the engine (stage 1 of one person). */
  choose(budgetMs: number, reserveMs: number): number {
    const fits = this.sides.find((s) => (this.baseline.get(s) ?? 0) * this.load.cautious + reserveMs <= budgetMs);
    return fits ?? this.sides[this.sides.length - 1];
  }

  observe(side: number, ms: number): void {
    const base = this.baseline.get(side);
    if (base) this.load.observe(ms / base);
  }
}
