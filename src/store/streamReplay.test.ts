import { describe, expect, it } from 'vitest';
import { seededRandom } from '../engine/stream';
import type { StageKey } from '../engine/types';
import { queryOutcomes, replayCurves, replayStream, STREAM_EXITS, type ReplayEntry, type ReplayQuery } from './streamReplay';

/** An entry whose embedding at every stage is the unit vector at `angle` (radians) in the first plane,
 * except at the stages listed in `at`. */
function entry(id: string, identity: string, camera: number | null, angle: number, at: Partial<Record<StageKey, number>> = {}): ReplayEntry {
  const vec = (a: number) => Float32Array.from([Math.cos(a), Math.sin(a), 0, 0]);
  const keys: StageKey[] = ['1', '2', '3', '4', 'fused'];
  return { id, identity, camera, fileName: `${id}.jpg`, embeddings: Object.fromEntries(keys.map((k) => [k, vec(at[k] ?? angle)])) as Record<StageKey, Float32Array> };
}

const chord = (a: number) => 2 * Math.sin(a / 2); // Euclidean distance between unit vectors `a` apart

describe('queryOutcomes (leave-one-out)', () => {
  const a1 = entry('a1', 'a', 1, 0);
  const a2 = entry('a2', 'a', 2, 0.2, { '1': 1.0 }); // far from a1 at stage 1, nearest later
  const aSameCam = entry('a3', 'a', 1, 0.01); // same identity, same camera as a1: ignored
  const b1 = entry('b1', 'b', 2, 0.3);
  const gallery = [a1, a2, aSameCam, b1];

  it('answers wrong where another identity is nearer, right where the identity is, with d1 and d2', () => {
    const q = queryOutcomes(a1, gallery);
    expect(q).not.toBeNull();
    const [s1, s2, , full] = q!.outcomes;
    expect(STREAM_EXITS).toEqual(['1', '2', '3', 'fused']);
    // stage 1: b1 (0.3 away) beats a2 (1.0 away); a3 would win, but it is a1's identity seen by a1's camera
    expect(s1.correct).toBe(false);
    expect(s1.signal.d1).toBeCloseTo(chord(0.3), 6);
    expect(s1.signal.d2).toBeCloseTo(chord(1.0), 6);
    // later: a2 (0.2 away) is nearest, b1 the nearest other identity
    for (const s of [s2, full]) {
      expect(s.correct).toBe(true);
      expect(s.signal.d1).toBeCloseTo(chord(0.2), 6);
      expect(s.signal.d2).toBeCloseTo(chord(0.3), 6);
    }
  });

  it('leaves out an entry with no other comparable image of its identity', () => {
    expect(queryOutcomes(b1, gallery)).toBeNull();
    expect(queryOutcomes(entry('c', 'c', 1, 0), [entry('c', 'c', 1, 0), entry('c2', 'c', 1, 1)])).toBeNull();
    expect(queryOutcomes(entry('d', 'd', null, 0), [entry('d2', 'd', null, 1)])).not.toBeNull();
  });
});

/** Queries that get right more often at later exits, where a wide margin marks a right answer. */
function syntheticQueries(n: number): ReplayQuery[] {
  const rng = seededRandom(4);
  return Array.from({ length: n }, (_, i) => {
    const difficulty = rng();
    return {
      entry: entry(`q${i}`, 'x', null, 0),
      outcomes: [0, 1, 2, 3].map((s) => {
        const correct = difficulty < 0.3 + 0.15 * s;
        const d1 = 0.5 + 0.3 * rng();
        return { correct, signal: { d1, d2: d1 + (correct ? 0.1 + 0.2 * rng() : 0.15 * rng()) } };
      }),
    };
  });
}

describe('replayStream', () => {
  const costs = [2, 3, 5, 8];
  const queries = syntheticQueries(800);

  it('routes every query once, keeps the average on the budget, and reports each exit', () => {
    const r = replayStream(queries, costs, 4.5, 'margin');
    expect(r.queries).toHaveLength(800);
    expect(r.exits.reduce((a, b) => a + b, 0)).toBe(800);
    expect(Math.abs(r.averageCost - 4.5) / 4.5).toBeLessThan(0.05);
    expect(r.averageCost).toBeCloseTo(r.queries.reduce((a, q) => a + q.cost, 0) / 800, 9);
    for (const q of r.queries) expect(q.cost).toBe(costs[q.exit - 1]);
    expect(r.rank1).toBeCloseTo(r.queries.filter((q) => q.correct).length / 800, 12);
  });

  it('gives curves whose anytime points are each exit answering every query, and margin above random', () => {
    const curves = replayCurves(queries, costs, 4);
    expect(curves.anytime.map((p) => p.cost)).toEqual(costs);
    expect(curves.anytime[3].rank1).toBeCloseTo(queries.filter((q) => q.outcomes[3].correct).length / 800, 12);
    expect(curves.budgeted.margin.map((p) => p.cost)).toEqual([3.2, 4.4, 5.6, 6.8].map((x) => expect.closeTo(x, 9)));
    const mid = 1;
    expect(curves.budgeted.margin[mid].rank1).toBeGreaterThan(curves.budgeted.random[mid].rank1);
  });

  it('refuses an empty stream', () => {
    expect(() => replayStream([], costs, 4, 'random')).toThrow(RangeError);
  });
});
