import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/engine/stream/index';
import type { ReidLabel } from '../../src/protocol/index';
import { rocAuc, scoreQuery, summarise } from './metrics';

const JUNK_ID = -1;

interface Labelled {
  pid: number;
  cam: number;
}

/** A Market-1501 label by number, as training/dare/data.py gives it: -1 junk, 0 a distractor. */
const label = ({ pid, cam }: Labelled): ReidLabel => ({
  identity: pid === JUNK_ID ? '-1' : String(pid).padStart(4, '0'),
  camera: cam,
  kind: pid === JUNK_ID ? 'junk' : pid === 0 ? 'distractor' : 'person',
});
const score = (dist: number[], q: Labelled, gallery: Labelled[]) => scoreQuery(dist, label(q), gallery.map(label));

/** training/dare/metrics.py's per-query computation, transcribed: full stable argsort, then ignore. */
function referenceScore(dist: number[], q: Labelled, gallery: Labelled[]): { correct: boolean; ap: number } | null {
  const order = dist.map((_, i) => i).sort((a, b) => dist[a] - dist[b] || a - b);
  const match = order
    .filter((i) => !((gallery[i].pid === q.pid && gallery[i].cam === q.cam) || gallery[i].pid === JUNK_ID))
    .map((i) => gallery[i].pid === q.pid);
  if (!match.includes(true)) return null;
  const hits = match.flatMap((m, i) => (m ? [i] : []));
  return { correct: match[0], ap: hits.reduce((a, h, k) => a + (k + 1) / (h + 1), 0) / hits.length };
}

describe('scoreQuery (Market-1501 protocol)', () => {
  const query = { pid: 1, cam: 1 };

  it('ignores same-camera matches and junk, keeps distractors, and computes AP by hand', () => {
    const gallery = [
      { pid: 1, cam: 1 }, // same id, same camera: ignored although nearest
      { pid: JUNK_ID, cam: 2 }, // junk: ignored
      { pid: 2, cam: 2 },
      { pid: 1, cam: 2 },
      { pid: 0, cam: 3 }, // distractor: a negative
      { pid: 1, cam: 3 },
    ];
    const s = score([0.1, 0.05, 0.3, 0.4, 0.2, 0.9], query, gallery);
    // valid ranking: 0.2 (pid 0), 0.3 (pid 2), 0.4 (pid 1), 0.9 (pid 1) → hits at ranks 3 and 4
    expect(s).not.toBeNull();
    expect(s!.correct).toBe(false);
    expect(s!.ap).toBeCloseTo((1 / 3 + 2 / 4) / 2, 12);
    expect(s!.d1).toBe(0.2);
    expect(s!.d2).toBe(0.3);
  });

  it('is correct with AP 1 when the true matches come first; d2 skips the nearest identity', () => {
    const gallery = [
      { pid: 1, cam: 2 },
      { pid: 1, cam: 4 },
      { pid: 2, cam: 1 },
    ];
    const s = score([0.1, 0.15, 0.5], query, gallery);
    expect(s).toEqual({ correct: true, ap: 1, d1: 0.1, d2: 0.5 });
  });

  it('returns null when only ignored images share the identity', () => {
    expect(score([0.1, 0.2], query, [{ pid: 1, cam: 1 }, { pid: 3, cam: 2 }])).toBeNull();
  });

  it('agrees with the reference on random galleries', () => {
    const rng = seededRandom(3);
    for (let trial = 0; trial < 50; trial++) {
      const gallery = Array.from({ length: 60 }, () => ({ pid: Math.floor(rng() * 8) - 1, cam: 1 + Math.floor(rng() * 3) }));
      const dist = gallery.map(() => rng() * 2);
      const q = { pid: 1 + Math.floor(rng() * 6), cam: 1 + Math.floor(rng() * 3) };
      const ours = score(dist, q, gallery);
      const ref = referenceScore(dist, q, gallery);
      if (ref === null) {
        expect(ours).toBeNull();
        continue;
      }
      expect(ours!.correct).toBe(ref.correct);
      expect(ours!.ap).toBeCloseTo(ref.ap, 12);
    }
  });

  it('summarise averages rank-1 and AP over the queries', () => {
    const s = summarise([
      { correct: true, ap: 1, d1: 0, d2: 1 },
      { correct: false, ap: 0.5, d1: 0, d2: 1 },
    ]);
    expect(s).toEqual({ rank1: 0.5, mAP: 0.75, queries: 2 });
    expect(() => summarise([])).toThrow(RangeError);
  });
});

describe('rocAuc', () => {
  it('is 1 for a perfect ranking, 0 for a reversed one, and counts ties half', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [false, false, true, true])).toBe(1);
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [true, true, false, false])).toBe(0);
    expect(rocAuc([0.5, 0.5], [true, false])).toBe(0.5);
    // pairs (pos, neg): (0.3 vs 0.1) win, (0.3 vs 0.4) loss, (0.6 vs 0.1) win, (0.6 vs 0.4) win → 3/4
    expect(rocAuc([0.1, 0.3, 0.4, 0.6], [false, true, false, true])).toBe(0.75);
    expect(rocAuc([1, 2], [true, true])).toBeNaN();
  });
});
