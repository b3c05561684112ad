import { describe, expect, it } from 'vitest';
import { l2Normalise } from '../engine/vectors';
import { StageLayout } from '../engine/stages';
import { balancedThreshold, calibrateThresholds, decide, FALLBACK_THRESHOLD, type LabelledEmbeddings, type UnknownThresholds } from './threshold';

const LAYOUT = new StageLayout(4);

const FIXED: UnknownThresholds = { perStage: { '1': 1.2, '2': 1.1, '3': 1.0, '4': 0.9, fused: 0.8 }, source: 'gallery', positives: 1, negatives: 1 };

describe('decide', () => {
  it('names the nearest identity only below the threshold of the answer’s stage', () => {
    expect(decide({ identity: 'ann', distance: 0.85 }, FIXED, 'fused', 1).identity).toBeNull();
    expect(decide({ identity: 'ann', distance: 0.85 }, FIXED, 4, 1).identity).toBe('ann');
    expect(decide({ identity: 'ann', distance: 0.85 }, FIXED, 1, 1)).toMatchObject({ identity: 'ann', distance: 0.85, threshold: 1.2 });
  });

  it('follows the user’s adjustment of the threshold', () => {
    expect(decide({ identity: 'ann', distance: 0.85 }, FIXED, 'fused', 1.1).identity).toBe('ann');
    expect(decide({ identity: 'ann', distance: 0.85 }, FIXED, 4, 0.9).identity).toBeNull();
  });

  it('is unknown with an empty gallery', () => {
    expect(decide(undefined, FIXED, 2, 1)).toMatchObject({ identity: null, distance: null });
    // A stage the thresholds do not name (no model loaded yet): the neutral fallback.
    expect(decide({ identity: 'ann', distance: 0.85 }, { ...FIXED, perStage: {} }, 2, 1)).toMatchObject({ identity: 'ann', threshold: FALLBACK_THRESHOLD });
  });

  it('measures certainty as the relative distance from the threshold', () => {
    expect(decide({ identity: 'ann', distance: 0.4 }, FIXED, 'fused', 1).margin).toBeCloseTo(0.5);
    expect(decide({ identity: 'ann', distance: 1.2 }, FIXED, 'fused', 1).margin).toBeCloseTo(0.5);
    expect(decide({ identity: 'ann', distance: 0.8 }, FIXED, 'fused', 1).margin).toBeCloseTo(0);
  });
});

describe('balancedThreshold', () => {
  it('falls between separable same-identity and different-identity distances', () => {
    const t = balancedThreshold([0.2, 0.3, 0.4], [0.9, 1.0, 1.3, 1.4, 1.5, 1.6]);
    expect(t).toBeGreaterThan(0.4);
    expect(t).toBeLessThan(0.9);
  });

  it('weighs both error rates equally when the pairs overlap', () => {
    // Many negatives at 0.5 would dominate a plain error count; balanced, the threshold stays above the
    // positives' bulk.
    const pos = [0.3, 0.35, 0.4, 0.6];
    const neg = [...Array(50).fill(0.55), ...Array(50).fill(1.2)];
    const t = balancedThreshold(pos, neg);
    expect(t).toBeGreaterThan(0.4);
    expect(t).toBeLessThan(0.55);
  });
});

/** A unit vector near direction `axis` (a person), tilted by `jitter` along `axis + 1` (another view). */
function emb(axis: number, jitter: number): Float32Array {
  const v = new Float32Array(128);
  v[axis] = 1;
  v[axis + 1] = jitter;
  return l2Normalise(v);
}

function entry(identity: string, axis: number, jitter: number, kind: LabelledEmbeddings['kind'] = 'person', camera: number | null = null): LabelledEmbeddings {
  const e = emb(axis, jitter);
  return { identity, camera, kind, embeddings: { '1': e, '2': e, '3': e, '4': e, fused: e } };
}

describe('calibrateThresholds', () => {
  it('calibrates each stage on the gallery’s own pairs', () => {
    const t = calibrateThresholds([entry('a', 0, 0), entry('a', 0, 0.3), entry('b', 10, 0), entry('b', 10, 0.2), entry('c', 20, 0.1)], LAYOUT);
    expect(t.source).toBe('gallery');
    expect(t.positives).toBe(2);
    expect(t.negatives).toBe(8);
    // Same-person distances are ≤ 0.3 here and different-person ones ≈ 1.41.
    for (const v of Object.values(t.perStage)) {
      expect(v).toBeGreaterThan(0.3);
      expect(v).toBeLessThan(1.38);
    }
  });

  it("uses the model's thresholds (else the fallback) until the gallery has both a repeated identity and two identities", () => {
    const model = { '1': 0.9, '2': 0.8, '3': 0.7, '4': 0.75, fused: 0.72 };
    expect(calibrateThresholds([entry('a', 0, 0), entry('a', 0, 0.3)], LAYOUT, model)).toMatchObject({ source: 'default', perStage: model });
    expect(calibrateThresholds([entry('a', 0, 0), entry('b', 10, 0)], LAYOUT, model)).toMatchObject({ source: 'default', perStage: model });
    expect(calibrateThresholds([entry('a', 0, 0), entry('b', 10, 0)], LAYOUT)).toMatchObject({ source: 'default', perStage: {} });
    const calibrated = calibrateThresholds([entry('a', 0, 0), entry('a', 0, 0.3), entry('b', 10, 0)], LAYOUT, model);
    expect(calibrated.source).toBe('gallery');
    expect(calibrated.perStage).not.toEqual(model);
  });

  it('never counts junk, never pairs distractors as the same person, and skips same-camera repeats', () => {
    const people = [entry('a', 0, 0), entry('a', 0, 0.3), entry('b', 10, 0), entry('b', 10, 0.2), entry('c', 20, 0.1)];
    // Many Market-1501 junk images, close together: counted as one person they would add some 125,000
    // tight "same" pairs and drag every threshold down to their spread.
    const junk = Array.from({ length: 500 }, (_, i) => entry('-1', 40, 0.001 * i, 'junk', 1 + (i % 6)));
    const distractors = Array.from({ length: 20 }, (_, i) => entry('0000', 60, 0.001 * i, 'distractor', 1 + (i % 6)));
    const alone = calibrateThresholds(people, LAYOUT);
    const mixed = calibrateThresholds([...junk, ...people, ...distractors], LAYOUT);
    expect(mixed.source).toBe('gallery');
    expect(mixed.positives).toBe(alone.positives);
    // Each distractor is a negative for each of the 5 persons, never for another distractor.
    expect(mixed.negatives).toBe(alone.negatives + 5 * 20);
    for (const v of Object.values(mixed.perStage)) expect(v).toBeGreaterThan(0.3);

    const threeExits = calibrateThresholds([entry('a', 0, 0), entry('a', 0, 0.3), entry('b', 10, 0)], new StageLayout(3));
    expect(Object.keys(threeExits.perStage).sort()).toEqual(['1', '2', '3', 'fused']);
    expect(calibrateThresholds(people, null)).toMatchObject({ source: 'default', perStage: {} });

    const sameCamera = calibrateThresholds([entry('a', 0, 0, 'person', 1), entry('a', 0, 0.3, 'person', 1), entry('b', 10, 0, 'person', 2)], LAYOUT);
    expect(sameCamera).toMatchObject({ source: 'default', positives: 0 });
  });
});
