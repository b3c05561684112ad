// The one-query re-ranker against the Python reference (training/dare/rerank.py, run by /usr/bin/python3
// on the same embeddings, one query at a time as the app searches).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { l2Normalise } from '../vectors';
import { galleryNeighbours, prepareGallery, rerankQuery, type RerankParams } from './kReciprocal';

const TRAINING = resolve(dirname(fileURLToPath(import.meta.url)), '../../../training');
const PYTHON = '/usr/bin/python3';
const hasNumpy = spawnSync(PYTHON, ['-c', 'import numpy'], { cwd: TRAINING }).status === 0;

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

/** `ids` identities with `per` noisy views each (what gives re-ranking something to find), plus queries:
 * views of those identities and one far from everything (it changes the column normalisers). */
function clustered(ids: number, per: number, dim: number, queries: number, seed: number): { gallery: Float32Array; queries: Float32Array[] } {
  const next = rng(seed);
  const centres = Array.from({ length: ids }, () => Float32Array.from({ length: dim }, next));
  const view = (c: Float32Array, noise: number) => l2Normalise(c.map((x) => x + noise * next()));
  const gallery = new Float32Array(ids * per * dim);
  for (let i = 0; i < ids * per; i++) gallery.set(view(centres[i % ids], 0.9), i * dim);
  const qs = Array.from({ length: queries - 1 }, (_, i) => view(centres[(3 * i) % ids], 0.9));
  const far = new Float32Array(dim);
  for (let i = 0; i < ids * per; i++) for (let t = 0; t < dim; t++) far[t] -= gallery[i * dim + t];
  qs.push(l2Normalise(far));
  return { gallery, queries: qs };
}

/** training/dare/rerank.py's re_rank for each query alone against the gallery: [queries][gallery]. */
function pythonReference(gallery: Float32Array, queries: Float32Array[], dim: number, p: RerankParams): number[][] {
  const dir = mkdtempSync(join(tmpdir(), 'rerank-'));
  try {
    const input = join(dir, 'in.json');
    writeFileSync(input, JSON.stringify({ dim, gallery: Array.from(gallery), queries: queries.map((q) => Array.from(q)), ...p }));
    const script = `
import json, sys
import numpy as np
from dare.rerank import re_rank
d = json.load(open(sys.argv[1]))
g = np.array(d["gallery"], dtype=np.float32).reshape(-1, d["dim"])
out = [re_rank(np.array([q], dtype=np.float32), g, d["k1"], d["k2"], d["lambda"])[0].tolist() for q in d["queries"]]
json.dump(out, open(sys.argv[2], "w"))
`;
    const run = spawnSync(PYTHON, ['-c', script, input, join(dir, 'out.json')], { cwd: TRAINING, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`training/dare/rerank.py failed: ${run.stderr}`);
    return JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as number[][];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const order = (d: ArrayLike<number>) => Array.from(d, (x, i) => [x, i]).sort((a, b) => a[0] - b[0]).map((p) => p[1]);

const CASES: { name: string; ids: number; per: number; dim: number; params: RerankParams }[] = [
  { name: 'k1 = 20, k2 = 6, λ = 0.3 on 900 entries (most rows from the cache)', ids: 150, per: 6, dim: 16, params: { k1: 20, k2: 6, lambda: 0.3 } },
  { name: 'k1 = 20, k2 = 6, λ = 0.3 on 120 entries', ids: 20, per: 6, dim: 16, params: { k1: 20, k2: 6, lambda: 0.3 } },
  { name: 'k1 = 5, k2 = 3, λ = 0.5 on 40 entries', ids: 10, per: 4, dim: 8, params: { k1: 5, k2: 3, lambda: 0.5 } },
  { name: 'a gallery smaller than k1 (12 entries)', ids: 4, per: 3, dim: 8, params: { k1: 20, k2: 6, lambda: 0.3 } },
  { name: 'k2 = 1 (no query expansion)', ids: 12, per: 5, dim: 12, params: { k1: 10, k2: 1, lambda: 0.3 } },
];

describe.skipIf(!hasNumpy)(
  `k-reciprocal re-ranking of one query matches training/dare/rerank.py${hasNumpy ? '' : ` — SKIPPED: ${PYTHON} with numpy is absent`}`,
  () => {
    it.each(CASES)('$name', ({ ids, per, dim, params }) => {
      const { gallery, queries } = clustered(ids, per, dim, 6, ids * 7 + per);
      const prepared = prepareGallery(gallery, dim, galleryNeighbours(gallery, dim, params.k1), params);
      const expected = pythonReference(gallery, queries, dim, params);
      let outlierColumns = 0;
      let fewestRecomputed = Infinity;
      queries.forEach((q, n) => {
        const got = rerankQuery(prepared, q);
        outlierColumns += got.outlierColumns;
        fewestRecomputed = Math.min(fewestRecomputed, got.recomputedRows);
        expect(got.distances).toHaveLength(expected[n].length);
        got.distances.forEach((d, j) => expect(d).toBeCloseTo(expected[n][j], 5));
        expect(order(got.distances).slice(0, 10)).toEqual(order(expected[n]).slice(0, 10));
      });
      // The far query exercises the changed column normalisers.
      expect(outlierColumns).toBeGreaterThan(0);
      // On the large gallery, queries reuse most of the cached rows (and still agree with the reference).
      if (ids * per >= 900) expect(fewestRecomputed).toBeLessThan((ids * per) / 2);
    });
  },
);

describe('k-reciprocal re-ranking', () => {
  it('says what is wrong with a query of the wrong size', () => {
    const gallery = new Float32Array(8).fill(0.5);
    const prepared = prepareGallery(gallery, 4, galleryNeighbours(gallery, 4, 20));
    expect(() => rerankQuery(prepared, new Float32Array(3))).toThrow('query must have 4 values, got 3');
  });
});
