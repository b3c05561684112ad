// The detector's input size follows the frame budget: the largest size whose cautious expected cost
// (mean plus twice the mean deviation, see costs.ts) still leaves room for stage 1 of one person. A smaller input costs less and only misses people who are small in the
// frame. Each size's cost is measured once at start; afterwards only the size in use is measured, and its
// drift (a busier or idler device) is applied to the others' estimates.

import { RunningCost } from './costs';

/** Detector input sizes tried, largest first (MoveNet MultiPose's native 256 down to 160: below that it
 * misses people of a typical webcam frame). */
export const DETECTOR_SIDES = [256, 224, 192, 160] as const;

export class DetectorSizer {
  private readonly baseline = new Map<number, number>();
  /** Measured cost over baseline cost of the size in use. */
  private readonly load = new RunningCost(1, 0.2);

  constructor(readonly sides: readonly number[] = DETECTOR_SIDES) {}

  /** Records a start-up measurement of one size. */
  setBaseline(side: number, ms: number): void {
    this.baseline.set(side, Math.max(ms, 0.1));
  }

  get calibrated(): boolean {
    return this.sides.every((s) => this.baseline.has(s));
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
