// What the view shows about the frame rate and the budget: frames per second over the last second,
// the last frame's time against its budget, and how many frames overran.

export interface FrameStatsSnapshot {
  fps: number;
  frames: number;
  overruns: number;
  lastFrameMs: number;
  lastBudgetMs: number;
  lastGrabMs: number;
  lastDetectorMs: number;
  lastDetectorSide: number;
}

export class FrameStats {
  private readonly times: number[] = [];
  private snapshot: FrameStatsSnapshot = { fps: 0, frames: 0, overruns: 0, lastFrameMs: 0, lastBudgetMs: 0, lastGrabMs: 0, lastDetectorMs: 0, lastDetectorSide: 0 };

  constructor(private readonly windowMs = 1000) {}

  /** Records a processed frame that ended at `now` (ms). */
  add(now: number, frame: { totalMs: number; budgetMs: number; grabMs: number; detectorMs: number; detectorSide: number; overran: boolean }): FrameStatsSnapshot {
    this.times.push(now);
    while (this.times.length > 0 && this.times[0] <= now - this.windowMs) this.times.shift();
    const span = this.times.length > 1 ? now - this.times[0] : 0;
    this.snapshot = {
      fps: span > 0 ? ((this.times.length - 1) * 1000) / span : 0,
      frames: this.snapshot.frames + 1,
      overruns: this.snapshot.overruns + (frame.overran ? 1 : 0),
      lastFrameMs: frame.totalMs,
      lastBudgetMs: frame.budgetMs,
      lastGrabMs: frame.grabMs,
      lastDetectorMs: frame.detectorMs,
      lastDetectorSide: frame.detectorSide,
    };
    return this.snapshot;
  }

  get current(): FrameStatsSnapshot {
    return this.snapshot;
  }
}
