// Cumulative stage costs C_1 < … < C_n for the router, from the device calibration or the model's MACs.
// The last exit is the full model: its cost includes the fusion and its embedding is the fused one.
import type { DareMetadata, StageCosts } from '../types';

/** C_s in ms from calibrated step costs: stages 1–3 alone, then stage 4 plus the fusion. With `flip`,
 * the flip-TTA costs (throws if they are not measured yet). */
export function cumulativeMs(costs: StageCosts, flip = false): number[] {
  const ms = flip ? costs.flipMs : costs.ms;
  if (!ms) throw new RangeError('flip costs are not calibrated yet');
  const [s1, s2, s3, s4, fusion] = ms;
  return [s1, s1 + s2, s1 + s2 + s3, s1 + s2 + s3 + s4 + fusion];
}

/** C_s in multiply-adds, from the model metadata (already cumulative; the fusion's 4×128 MACs are
 * negligible and not listed there). */
export function cumulativeMacs(meta: DareMetadata): number[] {
  return meta.stages.map((s) => s.macs);
}
