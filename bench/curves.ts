// npm run bench:curves [-- --queries N] [--budgets 10] [--stream-runs 20] [--timing-images 40]
//                      [--peer-queries 200] [--peer-gallery 3000] [--no-peers] [--model models/dare-osnet]
//                      [--out bench/results]
//
// DaRe's accuracy–budget curves on Market-1501 (../shared/data/market1501, or $MARKET1501_ROOT), with the
// shipped model run on the wasm backend through the app's engine:
//  1. anytime (paper Fig. 5): rank-1 and mAP of each exit against its cost in multiply-adds (model
//     metadata) and in ms measured here;
//  2. budgeted stream (Fig. 6): rank-1 against the average budget for the random, distance and margin
//     routing policies (StreamRouter, MAC costs, queries in seeded shuffled orders);
//  3. the peer ONNX models (../shared/peers) through onnxruntime-web next to our exits, on a common subset.
// Writes curves.json and curves-*.svg to bench/results (or --out). Embeddings are cached in
// .cache/curves/<weights hash>/, so a rerun with the same model export only redoes the scoring.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from '../src/engine/calibration';
import { AnytimeRunner, Calibration, memoryCostStorage, warmUp } from '../src/engine/index';
import { hashBytes } from '../src/engine/model';
import { loadModel, MODEL_DIR, useBackend } from '../src/engine/node/testModel';
import { StagedPass } from '../src/engine/staged';
import { cumulativeMacs, ROUTING_POLICIES, seededPermutation } from '../src/engine/stream/index';
import { budgetPoints } from '../src/protocol/index';
import { averagedBudgetedStream, type BudgetedPoint } from './curves/budgeted';
import { dareEmbedder, embeddingMatrix, embedMissing, EmbeddingCache, scoreAll } from './curves/embeddings';
import { decodeImage, loadMarket, marketRoot, type MarketImage } from './curves/market';
import { rocAuc, summarise, type QueryScore, type Summary } from './curves/metrics';
import { PEERS, PeerModel } from './curves/peers';
import { linePlot, type Series } from './curves/svg';
import { REPO_ROOT as ROOT, RESULTS_DIR } from './paths';

const { values: args } = parseArgs({
  options: {
    queries: { type: 'string' },
    budgets: { type: 'string', default: '10' },
    'stream-runs': { type: 'string', default: '20' },
    'timing-images': { type: 'string', default: '40' },
    'peer-queries': { type: 'string', default: '200' },
    'peer-gallery': { type: 'string', default: '3000' },
    'no-peers': { type: 'boolean', default: false },
    model: { type: 'string', default: MODEL_DIR },
    out: { type: 'string', default: RESULTS_DIR },
  },
});

const root = marketRoot(ROOT);
const market = await loadMarket(root);
if (!market) {
  console.error(`Market-1501 not found at ${root} (expected query/ and bounding_box_test/ there): put the dataset there or set MARKET1501_ROOT.`);
  process.exit(1);
}
const log = (s: string) => process.stderr.write(`${s}\n`);
const progress = (what: string) => (done: number, total: number) => process.stderr.write(`\r${what}: ${done}/${total}${done === total ? '\n' : ''}`);

const status = await useBackend('wasm');
if (status.active !== 'wasm') throw new Error(`wasm did not start: ${JSON.stringify(status.skipped)}`);
const modelDir = resolve(args.model);
const model = await loadModel(modelDir);
await warmUp(model);
const exportInfo = (JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8')) as { userDefinedMetadata?: { export?: { fusedMacs?: number; source?: { iteration?: number } } } }).userDefinedMetadata?.export;
const weightsHash = model.modelId.slice(model.modelId.lastIndexOf('#') + 1);
const runner = new AnytimeRunner(model, await Calibration.open(model, 'wasm', memoryCostStorage()));
const { layout } = model;
const STAGE_IDS = layout.ids;
const embedDare = dareEmbedder(runner);
const dim = (await embedDare([await decodeImage(root, market.query[0])]))[0].length / STAGE_IDS.length;

// --- the evaluation set: all gallery images; all queries, or a seeded sample with --queries N ---
const queryCount = Math.min(Number(args.queries ?? market.query.length), market.query.length);
const queries = seededPermutation(market.query.length, 2018)
  .slice(0, queryCount)
  .sort((a, b) => a - b)
  .map((i) => market.query[i]);
const { gallery } = market;
log(`model ${modelDir} (weights ${weightsHash}, export iteration ${exportInfo?.source?.iteration ?? '?'}); ${queries.length} queries, ${gallery.length} gallery images`);

const dareCache = await EmbeddingCache.open(join(ROOT, '.cache/curves', weightsHash), STAGE_IDS.length * dim);
await embedMissing(embedDare, root, [...gallery, ...queries], dareCache, progress('DaRe embeddings'));

/** scores[q][e]: query q scored with exit e's embeddings (STAGE_IDS order); queries with no valid match dropped. */
async function dareScores(qs: readonly MarketImage[], gs: readonly MarketImage[]): Promise<QueryScore[][]> {
  const perExit: (QueryScore | null)[][] = [];
  for (let e = 0; e < STAGE_IDS.length; e++) {
    perExit.push(await scoreAll(embeddingMatrix(qs, dareCache, dim, e), qs, embeddingMatrix(gs, dareCache, dim, e), gs, dim));
  }
  return qs.map((_, q) => perExit.map((s) => s[q])).filter((row): row is QueryScore[] => row.every((s) => s !== null));
}
const scores = await dareScores(queries, gallery);

// --- 1. anytime: each exit's accuracy against its cost ---
async function stepMs(images: readonly MarketImage[]): Promise<number[]> {
  const samples: number[][] = Array.from({ length: layout.stepCount }, () => []);
  for (const im of images) {
    const pass = new StagedPass(model, [await decodeImage(root, im)], false);
    try {
      for (let i = 0; i < layout.stepCount; i++) samples[i].push((await pass.step()).ms);
    } finally {
      pass.dispose();
    }
  }
  return samples.map(median);
}
const steps = await stepMs(queries.slice(0, Math.max(5, Number(args['timing-images']))));
const macs = [...model.meta.stages.map((s) => s.macs), exportInfo?.fusedMacs ?? model.meta.stages[model.meta.stages.length - 1].macs];
const round = (x: number, digits = 4) => Number(x.toFixed(digits));
const anytime = STAGE_IDS.map((stage, e) => {
  const s: Summary = summarise(scores.map((row) => row[e]));
  const ms = steps.slice(0, e + 1).reduce((a, b) => a + b, 0);
  return { stage: String(stage), macs: macs[e], ms: round(ms, 2), rank1: round(s.rank1), mAP: round(s.mAP) };
});

// --- 2. budgeted stream: every exit but the last, then the full model (fused), MAC costs ---
const exitIndex = layout.streamExits.map((key) => layout.keys.indexOf(key));
const streamScores = scores.map((row) => exitIndex.map((e) => row[e]));
const costs = cumulativeMacs(model.meta);
// How well each policy's confidence tells a right answer from a wrong one at each exit: routing can only
// beat random exits where this is above 0.5 and where the exit is right often enough to be worth stopping.
const signals = exitIndex.map((e, s) => {
  const correct = streamScores.map((row) => row[s].correct);
  return {
    stage: String(STAGE_IDS[e]),
    rank1: round(correct.filter(Boolean).length / correct.length),
    aucDistance: round(rocAuc(streamScores.map((row) => -row[s].d1), correct)),
    aucMargin: round(rocAuc(streamScores.map((row) => row[s].d2 - row[s].d1), correct)),
  };
});
const budgets = budgetPoints(costs, Number(args.budgets));
const runs = Number(args['stream-runs']);
const budgeted = Object.fromEntries(
  ROUTING_POLICIES.map((policy) => [
    policy,
    budgets.map((b) => {
      const p: BudgetedPoint = averagedBudgetedStream(streamScores, costs, b, policy, runs);
      return { macs: Math.round(b), averageMacs: Math.round(p.averageCost), rank1: round(p.rank1), mAP: round(p.mAP), exits: p.exits.map((x) => round(x, 1)) };
    }),
  ]),
);

// --- 3. peers vs our exits on a common subset (the peers are too slow here for the whole gallery) ---
interface PeerRow {
  name: string;
  label: string;
  rank1: number;
  mAP: number;
  ms: number;
  macs?: number;
}
let peerSubset: { queries: number; gallery: number } | null = null;
const peers: PeerRow[] = [];
const peerDir = join(ROOT, '../shared/peers');
if (!args['no-peers'] && existsSync(peerDir)) {
  const pq = seededPermutation(market.query.length, 7)
    .slice(0, Number(args['peer-queries']))
    .sort((a, b) => a - b)
    .map((i) => market.query[i]);
  const ids = new Set(pq.map((q) => q.identity));
  const own = gallery.filter((g) => ids.has(g.identity));
  const others = gallery.filter((g) => !ids.has(g.identity));
  const fill = seededPermutation(others.length, 11)
    .slice(0, Math.max(0, Number(args['peer-gallery']) - own.length))
    .map((i) => others[i]);
  const pg = [...own, ...fill];
  peerSubset = { queries: pq.length, gallery: pg.length };
  log(`peer subset: ${pq.length} queries, ${pg.length} gallery images (${own.length} of the queries' identities)`);
  await embedMissing(embedDare, root, pq, dareCache, progress('DaRe embeddings (peer queries)'));
  const ours = await dareScores(pq, pg);
  STAGE_IDS.forEach((stage, e) => {
    const s = summarise(ours.map((row) => row[e]));
    peers.push({ name: `DaRe exit ${String(stage)}`, label: 'DaRe exits', rank1: round(s.rank1), mAP: round(s.mAP), ms: anytime[e].ms, macs: macs[e] });
  });
  for (const spec of PEERS) {
    const file = join(peerDir, spec.file);
    if (!existsSync(file)) continue;
    const bytes = new Uint8Array(await readFile(file));
    const peer = await PeerModel.load(spec, bytes, ROOT);
    const msSamples: number[] = [];
    const first = await peer.embed(await decodeImage(root, pq[0]));
    const peerCache = await EmbeddingCache.open(join(ROOT, '.cache/curves/peers', `${spec.name}-${hashBytes(bytes.buffer)}`), first.embedding.length);
    await embedMissing(
      async (pixels) => {
        const out: Float32Array[] = [];
        for (const p of pixels) {
          const r = await peer.embed(p);
          msSamples.push(r.ms);
          out.push(r.embedding);
        }
        return out;
      },
      root,
      [...pg, ...pq],
      peerCache,
      progress(spec.name),
    );
    // Cached embeddings carry no timing: time a few images whatever the cache held.
    for (const im of pq.slice(0, 20)) msSamples.push((await peer.embed(await decodeImage(root, im))).ms);
    const d = first.embedding.length;
    const s = summarise((await scoreAll(embeddingMatrix(pq, peerCache, d), pq, embeddingMatrix(pg, peerCache, d), pg, d)).filter((x): x is QueryScore => x !== null));
    peers.push({ name: spec.name, label: spec.label, rank1: round(s.rank1), mAP: round(s.mAP), ms: round(median(msSamples), 2) });
  }
}

// --- outputs ---
const results = {
  model: { dir: modelDir.slice(ROOT.length + 1), weights: weightsHash, iteration: exportInfo?.source?.iteration ?? null },
  backend: 'wasm',
  date: new Date().toISOString(),
  queries: scores.length,
  gallery: gallery.length,
  streamRuns: runs,
  anytime,
  budgeted,
  signals,
  peerSubset,
  peers,
};
const out = resolve(args.out);
await mkdir(out, { recursive: true });
await writeFile(join(out, 'curves.json'), JSON.stringify(results, null, 2) + '\n');
const M = 1e6;
/** The stream's exits (every exit but the last, fused) as curves; the last exit's own embedding, which no
 * exit uses (it costs what the fused one does), as markers. */
function anytimeSeries(x: (a: (typeof anytime)[number]) => number): Series[] {
  const last = String(layout.exits[layout.exits.length - 1]);
  const exits = anytime.filter((a) => a.stage !== last);
  const alone = anytime.filter((a) => a.stage === last);
  return [
    { name: 'rank-1', points: exits.map((a) => [x(a), a.rank1] as const) },
    { name: 'mAP', points: exits.map((a) => [x(a), a.mAP] as const) },
    { name: `stage ${last} alone: rank-1`, points: alone.map((a) => [x(a), a.rank1] as const), markersOnly: true },
    { name: `stage ${last} alone: mAP`, points: alone.map((a) => [x(a), a.mAP] as const), markersOnly: true },
  ];
}
const plots: Record<string, string> = {
  'curves-anytime-macs.svg': linePlot({
    title: 'Anytime: accuracy vs multiply-adds',
    xLabel: 'multiply-adds per image (millions)',
    yLabel: 'accuracy',
    series: anytimeSeries((a) => a.macs / M),
  }),
  'curves-anytime-ms.svg': linePlot({
    title: 'Anytime: accuracy vs measured ms (wasm)',
    xLabel: 'ms per image, cumulative',
    yLabel: 'accuracy',
    series: anytimeSeries((a) => a.ms),
  }),
  'curves-budgeted.svg': linePlot({
    title: 'Budgeted stream: rank-1 vs average budget',
    xLabel: 'average budget (million multiply-adds per query)',
    yLabel: 'rank-1',
    series: ROUTING_POLICIES.map((p) => ({ name: p, points: budgeted[p].map((b) => [b.macs / M, b.rank1] as const) })),
  }),
};
if (peers.length > 0) {
  plots['curves-peers.svg'] = linePlot({
    title: `Peers vs DaRe exits (${peerSubset?.queries} queries, ${peerSubset?.gallery} gallery)`,
    xLabel: 'ms per image (wasm)',
    yLabel: 'rank-1',
    series: [
      { name: 'DaRe exits', points: peers.filter((p) => p.name.startsWith('DaRe')).map((p) => [p.ms, p.rank1] as const) },
      ...peers.filter((p) => !p.name.startsWith('DaRe')).map((p) => ({ name: p.label, points: [[p.ms, p.rank1] as const], markersOnly: true })),
    ],
  });
}
for (const [name, svg] of Object.entries(plots)) await writeFile(join(out, name), svg + '\n');

const pct = (x: number) => (100 * x).toFixed(1);
console.log(`\nanytime (${scores.length} queries × ${gallery.length} gallery)\nexit   Mmacs    ms  rank-1  mAP`);
for (const a of anytime) console.log(`${a.stage.padEnd(6)} ${(a.macs / M).toFixed(1).padStart(5)} ${a.ms.toFixed(1).padStart(5)}  ${pct(a.rank1).padStart(5)}  ${pct(a.mAP).padStart(5)}`);
console.log(`\nbudgeted stream rank-1 (mean of ${runs} orders)\nMmacs  ${ROUTING_POLICIES.map((p) => p.padStart(8)).join('')}`);
budgets.forEach((b, i) => console.log(`${(b / M).toFixed(1).padStart(5)}  ${ROUTING_POLICIES.map((p) => pct(budgeted[p][i].rank1).padStart(8)).join('')}`));
console.log('\nconfidence vs a right answer, ROC AUC per exit\nexit   rank-1  distance  margin');
for (const s of signals) console.log(`${s.stage.padEnd(6)} ${pct(s.rank1).padStart(6)}  ${s.aucDistance.toFixed(3).padStart(8)}  ${s.aucMargin.toFixed(3).padStart(6)}`);
if (peers.length > 0) {
  console.log(`\npeers (${peerSubset?.queries} queries × ${peerSubset?.gallery} gallery)`);
  for (const p of peers) console.log(`${p.name.padEnd(38)} rank-1 ${pct(p.rank1).padStart(5)}  mAP ${pct(p.mAP).padStart(5)}  ${p.ms.toFixed(1).padStart(6)} ms`);
}
console.log(`\nwrote ${join(out, 'curves.json')} and ${Object.keys(plots).join(', ')}`);
model.dispose();
