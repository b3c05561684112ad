// What each part of a pass costs, for planning work in pieces smaller than a step (the webcam). A step of
// one part costs what the calibration says of the step. The parts of a longer step each get a running
// estimate of their own, started at their share of the step's multiply-adds times the step's calibrated
// time and then learned from every part run; a step completed part by part still teaches the calibration
// its whole time, so search keeps planning with it.
import type { Calibration } from './calibration';
import type { PassParts } from './parts';
import { RunningCost } from './runningCost';
import type { PartResult } from './staged';

export class PartCosts {
  private readonly own: (RunningCost | null)[];

  constructor(
    private readonly calibration: Calibration,
    private readonly parts: PassParts,
  ) {
    this.own = parts.stepOf.map(() => null);
  }

  /** A cautious figure for each part of a plain (no flip) pass, in pass order. */
  cautious(): number[] {
    const steps = this.calibration.cautiousStepCosts(false);
    return this.parts.stepOf.map((step, j) => (this.parts.single(step) ? steps[step] : this.learner(j).cautious));
  }

  /** Learns from a part just run (plain). */
  observe(result: PartResult): void {
    if (!this.parts.single(result.step)) this.learner(result.index).observe(result.ms);
    if (result.stepMs !== null) this.calibration.observeStep(result.step, result.stepMs);
  }

  private learner(part: number): RunningCost {
    const step = this.parts.stepOf[part];
    return (this.own[part] ??= new RunningCost(this.calibration.stepCosts(false)[step] * this.parts.shareOf[part]));
  }
}
