// Cumulative stage costs C_1 < … < C_n for the router, from the device calibration or the model's MACs.
// The last exit is the full model: its cost includes the fusion and its embedding is the fused one.
import type { DareMetadata, StageCosts } from '../types';

/** C_s in ms from calibrated step costs: the running sum over the exits, the fusion added to the last
 * one. With `flip`, the flip-TTA costs (throws if they are not measured yet). */
export function cumulativeMs(costs: StageCosts, flip = false): number[] {
  const ms = flip ? costs.flipMs : costs.ms;
  if (!ms) throw new RangeError('flip costs are not calibrated yet');
  // The fusion is the last step: ms holds one value per exit, then its own.
  const fusionStep = ms.length - 1;
  let sum = 0;
  const out = ms.slice(0, fusionStep).map((m) => (sum += m));
  out[out.length - 1] += ms[fusionStep];
  return out;
}

/** C_s in multiply-adds, from the model metadata (already cumulative; the fusion's exits×128 MACs are
 * negligible and not listed there). */
export function cumulativeMacs(meta: DareMetadata): number[] {
  return meta.stages.map((s) => s.macs);
}
