import { beforeAll, describe, expect, it } from 'vitest';
import { GalleryIndex } from '../engine/matcher';
import { useBackend } from '../engine/node/testModel';
import { seededRandom } from '../engine/stream';
import { StageLayout, type StageKey } from '../engine/types';
import type { LabelKind } from '../protocol';
import { queryOutcomes, replayCurves, ReplayGallery, replayStream, type ReplayEntry, type ReplayQuery } from './streamReplay';

const LAYOUT = new StageLayout(4);

/** An entry whose embedding at every stage is the unit vector at `angle` (radians) in the first plane,
 * except at the stages listed in `at`. */
function entry(id: string, identity: string, camera: number | null, angle: number, at: Partial<Record<StageKey, number>> = {}, kind: LabelKind = 'person'): ReplayEntry {
  const vec = (a: number) => Float32Array.from([Math.cos(a), Math.sin(a), 0, 0]);
  const embeddings = Object.fromEntries(LAYOUT.keys.map((k) => [k, vec(at[k] ?? angle)])) as Record<StageKey, Float32Array>;
  return { id, identity, camera, kind, fileName: `${id}.jpg`, embeddings };
}

const chord = (a: number) => 2 * Math.sin(a / 2); // Euclidean distance between unit vectors `a` apart

/** The query's outcomes against `entries`, searched on the backend as the app does. */
async function outcomes(q: ReplayEntry, entries: readonly ReplayEntry[]): Promise<ReplayQuery | null> {
  const index = new GalleryIndex({ stages: LAYOUT.keys, dim: 4, chunkRows: 16 });
  index.addMany(entries);
  try {
    return await queryOutcomes(q, new ReplayGallery(entries), (queries, k) => index.searchAll(queries, k), LAYOUT.streamExits);
  } finally {
    index.dispose();
  }
}

beforeAll(async () => {
  await useBackend('wasm');
});

describe('queryOutcomes (leave-one-out, on the gallery index)', () => {
  const a1 = entry('a1', 'a', 1, 0);
  const a2 = entry('a2', 'a', 2, 0.2, { '1': 1.0 }); // far from a1 at stage 1, nearest later
  const aSameCam = entry('a3', 'a', 1, 0.01); // same identity, same camera as a1: ignored
  const b1 = entry('b1', 'b', 2, 0.3);
  const gallery = [a1, a2, aSameCam, b1];

  it('answers wrong where another identity is nearer, right where the identity is, with d1 and d2', async () => {
    const q = await outcomes(a1, gallery);
    expect(q).not.toBeNull();
    const [s1, s2, , full] = q!.outcomes;
    // stage 1: b1 (0.3 away) beats a2 (1.0 away); a3 would win, but it is a1's identity seen by a1's camera
    expect(s1.correct).toBe(false);
    expect(s1.signal.d1).toBeCloseTo(chord(0.3), 5);
    expect(s1.signal.d2).toBeCloseTo(chord(1.0), 5);
    // later: a2 (0.2 away) is nearest, b1 the nearest other identity
    for (const s of [s2, full]) {
      expect(s.correct).toBe(true);
      expect(s.signal.d1).toBeCloseTo(chord(0.2), 5);
      expect(s.signal.d2).toBeCloseTo(chord(0.3), 5);
    }
  });

  it('leaves out an entry with no other comparable image of its identity', async () => {
    expect(await outcomes(b1, gallery)).toBeNull();
    expect(await outcomes(entry('c', 'c', 1, 0), [entry('c', 'c', 1, 0), entry('c2', 'c', 1, 1)])).toBeNull();
    const d = entry('d', 'd', null, 0);
    expect(await outcomes(d, [d, entry('d2', 'd', null, 1)])).not.toBeNull();
  });

  it('never lets junk or distractors be a person: no queries, no true matches, junk not even a neighbour', async () => {
    const junk = (i: number, angle: number) => entry(`j${i}`, '-1', 1 + (i % 6), angle, {}, 'junk');
    const distractor = (i: number, angle: number) => entry(`z${i}`, '0000', 1 + (i % 6), angle, {}, 'distractor');
    const js = [junk(0, 0.5), junk(1, 0.51), junk(2, 0.52)];
    const zs = [distractor(0, 1.5), distractor(1, 1.51), distractor(2, 1.52)];
    const all = [...js, ...zs, a1, b1];
    for (const q of [...js, ...zs]) expect(await outcomes(q, all), q.id).toBeNull();
    expect(await outcomes(b1, all)).toBeNull();
    // Junk right next to the query is passed over; the nearest that counts is its true match.
    const a4 = entry('a4', 'a', 3, 0.4);
    const q = await outcomes(a1, [a1, entry('jx', '-1', 2, 0.001, {}, 'junk'), a4, distractor(9, 0.6)]);
    expect(q!.outcomes.map((o) => o.correct)).toEqual([true, true, true, true]);
    expect(q!.outcomes[0].signal.d1).toBeCloseTo(chord(0.4), 5);
    expect(q!.outcomes[0].signal.d2).toBeCloseTo(chord(0.6), 5);
  });

  it('counts distractors as negatives, fetching neighbours until another identity than theirs shows up', async () => {
    // 50 distractors nearer than the true match: more than the first search fetches.
    const zs = Array.from({ length: 50 }, (_, i) => entry(`z${i}`, '0000', 1 + (i % 6), 0.05 + 0.001 * i, {}, 'distractor'));
    const q = await outcomes(a1, [a1, ...zs, entry('a5', 'a', 2, 0.2)]);
    for (const o of q!.outcomes) {
      expect(o.correct).toBe(false);
      expect(o.signal.d1).toBeCloseTo(chord(0.05), 4);
      expect(o.signal.d2).toBeCloseTo(chord(0.2), 4);
    }
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
