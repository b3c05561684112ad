// Running cost estimates learned from measured times. Planning uses a cautious figure (mean plus twice
// the mean deviation) rather than the mean, so that a step which runs a little slow now and then (GC, a
// busy CPU) does not push the frame over its budget.

export class RunningCost {
  private m: number;
  private d: number;

  constructor(
    initialMs: number,
    /** Weight of one observation. */
    private readonly rate = 0.1,
  ) {
    this.m = initialMs;
    this.d = initialMs / 4;
  }

  observe(ms: number): void {
    // One outlier (a tab switch, a GC pause) moves the estimate at most as far as 4× the current mean.
    const x = Math.min(ms, 4 * Math.max(this.m, 1));
    this.d += this.rate * (Math.abs(x - this.m) - this.d);
    this.m += this.rate * (x - this.m);
  }

  get mean(): number {
    return this.m;
  }

  get cautious(): number {
    return this.m + 2 * this.d;
  }
}
