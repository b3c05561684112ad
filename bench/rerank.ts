// k-reciprocal re-ranking in the engine (src/engine/rerank): the one-time gallery preparation and the cost
// per query at 1k and 10k gallery entries (synthetic 128-d embeddings, `identities` of 6 views each), and,
// when Market-1501 is there, rank-1 / mAP of the shipped model's fused embedding with and without it.
//
//   npm run bench:rerank      # wasm; -- --backend webgpu, --queries 300, --sizes 1000,10000 (--sizes '' skips them),
//                             # --gallery N: a smaller Market gallery (the queries' identities + a seeded sample)
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from '../src/engine/calibration';
import { AnytimeRunner, Calibration, l2Normalise, memoryCostStorage, warmUp, type BackendName } from '../src/engine/index';
import { loadModel, useBackend } from '../src/engine/node/testModel';
import { DEFAULT_RERANK_PARAMS, prepareGallery, rerankQuery, type PreparedGallery } from '../src/engine/rerank/kReciprocal';
import { galleryNeighboursOnBackend } from '../src/engine/rerank/neighboursOnBackend';
import { seededPermutation } from '../src/engine/stream/index';
import { dareEmbedder, embeddingMatrix, embedMissing, EmbeddingCache } from './curves/embeddings';
import { loadMarket, marketRoot, type MarketImage } from './curves/market';
import { scoreQuery, summarise, type QueryScore } from './curves/metrics';
import { REPO_ROOT as ROOT } from './paths';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    sizes: { type: 'string', default: '1000,10000' },
    'timing-queries': { type: 'string', default: '50' },
    queries: { type: 'string', default: '300' },
    gallery: { type: 'string' },
    'no-market': { type: 'boolean', default: false },
  },
});
const DIM = 128;
const log = (s: string) => process.stderr.write(`${s}\n`);
const status = await useBackend(args.backend as BackendName);
log(`backend ${status.active}; k1 = ${DEFAULT_RERANK_PARAMS.k1}, k2 = ${DEFAULT_RERANK_PARAMS.k2}, λ = ${DEFAULT_RERANK_PARAMS.lambda}`);

interface Prepared {
  gallery: PreparedGallery;
  neighboursMs: number;
  /** CPU time of this process meanwhile (wasm here runs one thread). */
  neighboursCpuMs: number;
  sparseMs: number;
  /** CPU time of the sparse part (one thread): the contention-free figure on a shared machine. */
  sparseCpuMs: number;
}

async function prepare(matrix: Float32Array): Promise<Prepared> {
  let t = performance.now();
  const c = process.cpuUsage();
  const neighbours = await galleryNeighboursOnBackend(matrix, DIM, DEFAULT_RERANK_PARAMS.k1);
  const neighboursMs = performance.now() - t;
  const neighboursCpuMs = process.cpuUsage(c).user / 1000;
  t = performance.now();
  const cpu = process.cpuUsage();
  const gallery = prepareGallery(matrix, DIM, neighbours);
  return { gallery, neighboursMs, neighboursCpuMs, sparseMs: performance.now() - t, sparseCpuMs: process.cpuUsage(cpu).user / 1000 };
}

/** Re-ranks each query, returning the distances and the ms and recomputed rows of each. */
function rerankAll(gallery: PreparedGallery, queries: Float32Array[]): { distances: Float32Array[]; ms: number[]; cpuMs: number[]; vRows: number[]; rows: number[]; outliers: number[] } {
  const out = { distances: [] as Float32Array[], ms: [] as number[], cpuMs: [] as number[], vRows: [] as number[], rows: [] as number[], outliers: [] as number[] };
  for (const q of queries) {
    const t = performance.now();
    const cpu = process.cpuUsage();
    const r = rerankQuery(gallery, q);
    out.cpuMs.push(process.cpuUsage(cpu).user / 1000);
    out.ms.push(performance.now() - t);
    out.vRows.push(r.recomputedV);
    out.distances.push(r.distances);
    out.rows.push(r.recomputedRows);
    out.outliers.push(r.outlierColumns);
  }
  return out;
}

/** The whole gallery, or `size` images of it: all of the queries' identities, then a seeded sample. */
function galleryFor(all: readonly MarketImage[], queries: readonly MarketImage[], size: number): MarketImage[] {
  if (size >= all.length) return [...all];
  const ids = new Set(queries.map((q) => q.identity));
  const keep = new Set(all.filter((im) => ids.has(im.identity)));
  for (const i of seededPermutation(all.length, 1501)) {
    if (keep.size >= size) break;
    keep.add(all[i]);
  }
  return all.filter((im) => keep.has(im));
}

const fmt = (x: number, digits = 1) => x.toFixed(digits);
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

// --- synthetic galleries: identities of 6 noisy views (what gives each entry reciprocal neighbours) ---
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}
function synthetic(size: number, queries: number, seed: number): { matrix: Float32Array; queries: Float32Array[] } {
  const next = rng(seed);
  const ids = Math.ceil(size / 6);
  const centres = Array.from({ length: ids }, () => Float32Array.from({ length: DIM }, next));
  const view = (c: Float32Array) => l2Normalise(c.map((x) => x + 0.8 * next()));
  const matrix = new Float32Array(size * DIM);
  for (let i = 0; i < size; i++) matrix.set(view(centres[i % ids]), i * DIM);
  return { matrix, queries: Array.from({ length: queries }, (_, i) => view(centres[(7 * i) % ids])) };
}

// Wall ms on a shared machine include waiting for a core; the CPU ms of the (single-threaded) JS parts
// are what they cost.
console.log('| gallery | preparation: neighbours on backend, wall / CPU ms | preparation: sparse, wall / CPU ms | per query: wall ms median / p90 | per query: CPU ms median / p90 | rows recomputed per query: V / V\' (median) |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const size of args.sizes.split(',').filter(Boolean).map(Number)) {
  const { matrix, queries } = synthetic(size, Number(args['timing-queries']), size);
  const p = await prepare(matrix);
  rerankAll(p.gallery, queries.slice(0, 3)); // warm the JIT
  const r = rerankAll(p.gallery, queries);
  const ms = [...r.ms].sort((a, b) => a - b);
  const cpu = [...r.cpuMs].sort((a, b) => a - b);
  console.log(
    `| ${size} synthetic | ${fmt(p.neighboursMs, 0)} / ${fmt(p.neighboursCpuMs, 0)} | ${fmt(p.sparseMs, 0)} / ${fmt(p.sparseCpuMs, 0)} | ${fmt(median(r.ms))} / ${fmt(pct(ms, 0.9))} | ${fmt(median(r.cpuMs))} / ${fmt(pct(cpu, 0.9))} | ${median(r.vRows)} / ${median(r.rows)} |`,
  );
}

// --- Market-1501: the shipped model's fused embedding, plain against re-ranked ---
const market = args['no-market'] ? null : await loadMarket(marketRoot(ROOT));
if (args['no-market']) {
  log('--no-market: accuracy with and without re-ranking skipped.');
} else if (!market) {
  log(`Market-1501 not found at ${marketRoot(ROOT)}: accuracy with and without re-ranking skipped.`);
} else {
  const model = await loadModel();
  await warmUp(model);
  const weightsHash = model.modelId.slice(model.modelId.lastIndexOf('#') + 1);
  const runner = new AnytimeRunner(model, await Calibration.open(model, status.active, memoryCostStorage()));
  // The same seeded query sample and embedding cache as bench:curves (an earlier run's cache is reused).
  const queryCount = Math.min(Number(args.queries), market.query.length);
  const qs = seededPermutation(market.query.length, 2018).slice(0, queryCount).sort((a, b) => a - b).map((i) => market.query[i]);
  const gallery = galleryFor(market.gallery, qs, Number(args.gallery ?? market.gallery.length));
  const cache = await EmbeddingCache.open(join(ROOT, '.cache/curves', weightsHash), model.layout.stepCount * DIM);
  await embedMissing(dareEmbedder(runner), market.root, [...qs, ...gallery], cache, (d, n) => process.stderr.write(`\rDaRe embeddings: ${d}/${n}${d === n ? '\n' : ''}`));
  const fused = model.layout.fusionStep;
  const g = embeddingMatrix(gallery, cache, DIM, fused);
  const qm = embeddingMatrix(qs, cache, DIM, fused);
  const queries = qs.map((_, i) => qm.slice(i * DIM, (i + 1) * DIM));
  const p = await prepare(g);
  const r = rerankAll(p.gallery, queries);
  const plain: QueryScore[] = [];
  const reranked: QueryScore[] = [];
  queries.forEach((q, i) => {
    const d = new Float32Array(gallery.length);
    for (let j = 0; j < d.length; j++) {
      let dot = 0;
      for (let t = 0; t < DIM; t++) dot += q[t] * g[j * DIM + t];
      d[j] = Math.sqrt(Math.max(0, 2 - 2 * dot));
    }
    const a = scoreQuery(d, qs[i], gallery);
    const b = scoreQuery(r.distances[i], qs[i], gallery);
    if (a && b) {
      plain.push(a);
      reranked.push(b);
    }
  });
  const s0 = summarise(plain);
  const s1 = summarise(reranked);
  const ms = [...r.ms].sort((a, b) => a - b);
  const cpu = [...r.cpuMs].sort((a, b) => a - b);
  console.log('');
  console.log(`Market-1501, fused embedding of ${weightsHash}, ${s0.queries} queries (seeded sample of ${queryCount}) against ${gallery.length === market.gallery.length ? 'all' : `a subset of`} ${gallery.length} gallery images${gallery.length === market.gallery.length ? '' : ` (every image of the queries' identities, the rest a seeded sample of the other ${market.gallery.length} images)`}:`);
  console.log('| search | rank-1 | mAP |');
  console.log('| --- | --- | --- |');
  console.log(`| plain | ${fmt(100 * s0.rank1)} | ${fmt(100 * s0.mAP)} |`);
  console.log(`| re-ranked | ${fmt(100 * s1.rank1)} | ${fmt(100 * s1.mAP)} |`);
  console.log(
    `preparation ${fmt(p.neighboursMs, 0)} ms (neighbours; CPU ${fmt(p.neighboursCpuMs, 0)} ms) + ${fmt(p.sparseMs, 0)} ms (sparse; CPU ${fmt(p.sparseCpuMs, 0)} ms); ` +
      `per query wall median ${fmt(median(r.ms))} / p90 ${fmt(pct(ms, 0.9))} ms, CPU median ${fmt(median(r.cpuMs))} / p90 ${fmt(pct(cpu, 0.9))} ms; ` +
      `rows recomputed per query (median) V ${median(r.vRows)}, V' ${median(r.rows)}; queries with outlier columns ${r.outliers.filter((x) => x > 0).length}`,
  );
}
