import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GalleryIndex } from './matcher';
import { useBackend } from './node/testModel';
import { StageLayout, stageKey, type Match, type StageKey } from './types';
import { euclideanDistance, l2Normalise } from './vectors';

const DIM = 16;
const LAYOUT = new StageLayout(4);
const STAGE_IDS = LAYOUT.ids;
const KEYS = LAYOUT.keys;

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function randomEntry(next: () => number): Record<StageKey, Float32Array> {
  return Object.fromEntries(KEYS.map((k) => [k, l2Normalise(Float32Array.from({ length: DIM }, next))])) as Record<StageKey, Float32Array>;
}

/** Brute force in JS: every distance, sorted. */
function reference(entries: Map<string, Record<StageKey, Float32Array>>, key: StageKey, query: Float32Array): Match[] {
  const q = l2Normalise(query);
  return [...entries].map(([id, e]) => ({ id, distance: euclideanDistance(e[key], q) })).sort((a, b) => a.distance - b.distance);
}

/** The index's answer is the reference's top k: same distances in order, and each id's own distance
 * matches (ids of near-equal distances may swap). */
function expectTopK(got: Match[], entries: Map<string, Record<StageKey, Float32Array>>, key: StageKey, query: Float32Array, k: number) {
  const ref = reference(entries, key, query);
  const byId = new Map(ref.map((m) => [m.id, m.distance]));
  expect(got).toHaveLength(Math.min(k, entries.size));
  got.forEach((m, i) => {
    expect(m.distance).toBeCloseTo(ref[i].distance, 5);
    expect(byId.get(m.id)).toBeCloseTo(m.distance, 5);
  });
  expect(new Set(got.map((m) => m.id)).size).toBe(got.length);
}

describe('GalleryIndex', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it.each([true, false])('finds the same top k as a brute-force search, across chunk boundaries and for every stage (queryFirst %s)', async (queryFirst) => {
    const next = rng(1);
    const index = new GalleryIndex({ stages: KEYS, dim: DIM, chunkRows: 7, queryFirst });
    const entries = new Map<string, Record<StageKey, Float32Array>>();
    for (let i = 0; i < 40; i++) {
      const e = randomEntry(next);
      entries.set(`e${i}`, e);
      index.add(`e${i}`, e);
      if (i % 13 === 0) await index.search(1, e['1'], 3); // uploads a partial chunk, later topped up
    }
    expect(index.size).toBe(40);
    for (const stage of STAGE_IDS) {
      const query = Float32Array.from({ length: DIM }, next);
      expectTopK(await index.search(stage, query, 5), entries, stageKey(stage), query, 5);
    }
    // An entry's own vector is its nearest neighbour, at distance 0.
    const [first] = await index.search('fused', entries.get('e17')!.fused, 1);
    expect(first.id).toBe('e17');
    expect(first.distance).toBeLessThan(1e-3);
    index.dispose();
  });

  it('searchAll ranks each stage present in the query, independently', async () => {
    const next = rng(2);
    const index = new GalleryIndex({ stages: KEYS, dim: DIM, chunkRows: 8 });
    const entries = new Map<string, Record<StageKey, Float32Array>>();
    for (let i = 0; i < 20; i++) {
      const e = randomEntry(next);
      entries.set(`e${i}`, e);
      index.add(`e${i}`, e);
    }
    const q1 = Float32Array.from({ length: DIM }, next);
    const q3 = Float32Array.from({ length: DIM }, next);
    const result = await index.searchAll({ '1': q1, '3': q3 }, 4);
    expect(Object.keys(result).sort()).toEqual(['1', '3']);
    expectTopK(result['1']!, entries, '1', q1, 4);
    expectTopK(result['3']!, entries, '3', q3, 4);
    index.dispose();
  });

  it.each([true, false])('stays correct after single removals, bulk removals (compaction) and replacing an id (queryFirst %s)', async (queryFirst) => {
    const next = rng(3);
    const index = new GalleryIndex({ stages: KEYS, dim: DIM, chunkRows: 5, queryFirst });
    const entries = new Map<string, Record<StageKey, Float32Array>>();
    for (let i = 0; i < 120; i++) {
      const e = randomEntry(next);
      entries.set(`e${i}`, e);
      index.add(`e${i}`, e);
    }
    const check = async () => {
      for (const stage of STAGE_IDS) {
        const q = Float32Array.from({ length: DIM }, next);
        expectTopK(await index.search(stage, q, 200), entries, stageKey(stage), q, 200);
      }
    };
    // Swap-removals: one in the first chunk, one in the middle, the last entry, an unknown id.
    for (const id of ['e0', 'e57', 'e119', 'nope']) {
      expect(index.remove(id)).toBe(id === 'nope' ? 0 : 1);
      entries.delete(id);
    }
    expect(index.size).toBe(117);
    await check();
    // Many at once: compaction.
    const bulk = [...entries.keys()].filter((_, i) => i % 3 === 1);
    expect(bulk.length).toBeGreaterThan(32);
    expect(index.remove(bulk)).toBe(bulk.length);
    bulk.forEach((id) => entries.delete(id));
    expect(index.size).toBe(entries.size);
    await check();
    // Replace one id, add new ones after the removals.
    for (const id of ['e5', 'new1', 'new2']) {
      const e = randomEntry(next);
      entries.set(id, e);
      index.add(id, e);
    }
    expect(index.size).toBe(entries.size);
    await check();
    index.clear();
    expect(index.size).toBe(0);
    expect(await index.search(1, Float32Array.from({ length: DIM }, next), 3)).toEqual([]);
    index.dispose();
  });

  it('keeps the backend tensors flat: no leak per search, add or remove', async () => {
    const next = rng(4);
    const index = new GalleryIndex({ stages: KEYS, dim: DIM, chunkRows: 4 });
    for (let i = 0; i < 30; i++) index.add(`e${i}`, randomEntry(next));
    await index.search(1, Float32Array.from({ length: DIM }, next), 3);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      await index.searchAll({ '1': Float32Array.from({ length: DIM }, next), fused: Float32Array.from({ length: DIM }, next) }, 5);
      index.remove(`e${i}`);
      index.add(`x${i}`, randomEntry(next));
      await index.search(2, Float32Array.from({ length: DIM }, next), 2);
    }
    expect(tf.memory().numTensors).toBe(before);
    const chunksBefore = tf.memory().numTensors;
    index.dispose();
    expect(tf.memory().numTensors).toBe(chunksBefore - 5 * Math.ceil(30 / 4));
  });

  it('answers with the ids as they were when the search started, even if entries move meanwhile', async () => {
    const next = rng(6);
    const index = new GalleryIndex({ stages: KEYS, dim: DIM, chunkRows: 4 });
    const entries = new Map<string, Record<StageKey, Float32Array>>();
    for (let i = 0; i < 10; i++) {
      const e = randomEntry(next);
      entries.set(`e${i}`, e);
      index.add(`e${i}`, e);
    }
    const pending = index.search(1, entries.get('e9')!['1'], 1);
    index.remove('e0'); // moves e9 into slot 0 before the scores come back
    const [best] = await pending;
    expect(best.id).toBe('e9');
    expect(best.distance).toBeLessThan(1e-3);
    index.dispose();
  });

  it('rejects vectors of the wrong size', () => {
    const index = new GalleryIndex({ stages: KEYS, dim: DIM });
    const bad = { ...randomEntry(rng(5)), '2': new Float32Array(DIM + 1) };
    expect(() => index.add('x', bad)).toThrow(/embedding '2' must have 16 values/);
    index.dispose();
  });
});
