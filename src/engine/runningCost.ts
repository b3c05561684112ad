// The one cost learner: a running estimate of how long something takes, learned from measured times. The
// engine's calibration keeps one per step (search and webcam both teach it); the webcam keeps one for the
// detector's drift and one for the per-person overhead. Planning can use a cautious figure (mean plus
// twice the mean deviation) rather than the mean, so that a step which runs a little slow now and then
// (GC, a busy CPU) does not push a frame over its budget.
import { COSTS } from '../config';

export class RunningCost {
  private m: number;
  private d: number;

  constructor(
    initialMs: number,
    /** Weight of one observation (exponential moving average). */
    private readonly rate: number = COSTS.learningRate,
    initialDeviationMs = initialMs / 4,
  ) {
    this.m = initialMs;
    this.d = initialDeviationMs;
  }

  observe(ms: number): void {
    // One outlier (a tab switch, a GC pause) moves the estimate at most as far as maxStepRatio × the mean.
    const x = Math.min(ms, COSTS.maxStepRatio * Math.max(this.m, 1));
    this.d += this.rate * (Math.abs(x - this.m) - this.d);
    this.m += this.rate * (x - this.m);
  }

  get mean(): number {
    return this.m;
  }

  get deviation(): number {
    return this.d;
  }

  get cautious(): number {
    return this.m + COSTS.cautionDeviations * this.d;
  }
}
