// The "unknown" decision: a person is given the nearest gallery identity only when the distance is below
// a per-stage threshold. Shallow stages spread distances differently from deep ones, so each stage has
// its own threshold, calibrated on the gallery's own same-person / different-person pairs, as the re-ID
// protocol counts them (src/protocol pairKind: junk never counts, distractors are only ever negatives, and
// the same person seen by the same camera is no re-identification).

import { THRESHOLDS } from '../config';
import { stageKey, type StageId, type StageKey, type StageLayout } from '../engine/stages';
import { euclideanDistance } from '../engine/vectors';
import { pairKind, type ReidLabel } from '../protocol';

/** Per stage of the model; a stage without one (no model yet, or a model that states none) uses
 * FALLBACK_THRESHOLD. */
export type StageThresholds = Partial<Record<StageKey, number>>;

export interface UnknownThresholds {
  perStage: StageThresholds;
  /** 'gallery': calibrated on the gallery's pairs; 'default': too few pairs, fixed values used. */
  source: 'gallery' | 'default';
  /** Same-person and different-person pairs the calibration saw. */
  positives: number;
  negatives: number;
}

/**
 * Used until the gallery holds both a repeated identity and two identities. The model states its own
 * (`unknownThresholds` in its metadata: the balanced-error threshold, balancedThreshold below, of each
 * stage on cross-camera Market-1501 query pairs, written by training/dare/evaluate.py); this is the
 * last resort for a model that does not: distances between L2-normalised embeddings lie in [0, 2], and
 * 1 (about 60° apart) is a neutral middle.
 */
export const FALLBACK_THRESHOLD = THRESHOLDS.fallback;

export interface LabelledEmbeddings extends ReidLabel {
  embeddings: Partial<Record<StageKey, Float32Array>>;
}

const MAX_ENTRIES = THRESHOLDS.maxCalibrationEntries;

/** Thresholds for each stage of `layout` (the loaded model's; null before one is loaded). `defaults`: the
 * model's own thresholds, used until the gallery can calibrate. */
export function calibrateThresholds(entries: readonly LabelledEmbeddings[], layout: StageLayout | null, defaults: StageThresholds = {}): UnknownThresholds {
  // Junk pairs with nothing: left out before sampling, so that it takes no place of an image that counts.
  const sample = evenSample(
    entries.filter((e) => e.kind !== 'junk'),
    MAX_ENTRIES,
  );
  const perStage = { ...defaults };
  let positives = 0;
  let negatives = 0;
  if (!layout) return { perStage, source: 'default', positives: 0, negatives: 0 };
  for (const key of layout.keys) {
    const pos: number[] = [];
    const neg: number[] = [];
    for (let i = 0; i < sample.length; i++) {
      const a = sample[i].embeddings[key];
      if (!a) continue;
      for (let j = i + 1; j < sample.length; j++) {
        const b = sample[j].embeddings[key];
        if (!b) continue;
        const pair = pairKind(sample[i], sample[j]);
        if (pair) (pair === 'same' ? pos : neg).push(euclideanDistance(a, b));
      }
    }
    if (pos.length === 0 || neg.length === 0) {
      return { perStage: { ...defaults }, source: 'default', positives: pos.length, negatives: neg.length };
    }
    perStage[key] = balancedThreshold(pos, neg);
    positives = pos.length;
    negatives = neg.length;
  }
  return { perStage, source: 'gallery', positives, negatives };
}

/**
 * The distance that best separates same-identity pairs (below) from different-identity pairs (above),
 * weighing both error rates equally since a gallery has far more different pairs than same ones.
 */
export function balancedThreshold(positives: readonly number[], negatives: readonly number[]): number {
  const all = [
    ...positives.map((d) => ({ d, same: true })),
    ...negatives.map((d) => ({ d, same: false })),
  ].sort((a, b) => a.d - b.d);
  // Threshold below everything: every positive is missed, no negative accepted.
  let missed = positives.length;
  let accepted = 0;
  let best = { error: 1, at: all[0].d / 2 };
  for (let i = 0; i < all.length; i++) {
    if (all[i].same) missed--;
    else accepted++;
    if (i + 1 < all.length && all[i + 1].d === all[i].d) continue;
    const error = missed / positives.length + accepted / negatives.length;
    const at = i + 1 < all.length ? (all[i].d + all[i + 1].d) / 2 : all[i].d;
    if (error < best.error) best = { error, at };
  }
  return best.at;
}

function evenSample<T>(items: readonly T[], max: number): readonly T[] {
  if (items.length <= max) return items;
  const step = items.length / max;
  return Array.from({ length: max }, (_, i) => items[Math.floor(i * step)]);
}

export interface Decision {
  /** The gallery identity, or null for "unknown". */
  identity: string | null;
  /** Distance to the nearest gallery entry (null with an empty gallery). */
  distance: number | null;
  /** The threshold applied (after the user's adjustment). */
  threshold: number;
  /** How far the distance is from the threshold, relative to it: 0 = on the edge, larger = surer. */
  margin: number;
}

/** `scale` is the user's adjustment: 1 = as calibrated, above 1 accepts more, below 1 fewer. */
export function thresholdFor(thresholds: UnknownThresholds, stage: StageId, scale: number): number {
  return (thresholds.perStage[stageKey(stage)] ?? FALLBACK_THRESHOLD) * scale;
}

export function decide(
  nearest: { identity: string; distance: number } | undefined,
  thresholds: UnknownThresholds,
  stage: StageId,
  scale: number,
): Decision {
  const threshold = thresholdFor(thresholds, stage, scale);
  if (!nearest) return { identity: null, distance: null, threshold, margin: 0 };
  return {
    identity: nearest.distance <= threshold ? nearest.identity : null,
    distance: nearest.distance,
    threshold,
    margin: Math.abs(nearest.distance - threshold) / threshold,
  };
}
