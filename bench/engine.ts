// npm run bench:engine [-- --backend wasm|cpu|webgpu] [--runs 50] [--model models/dare-osnet] [--sizes 1000,10000,100000]
//                      [--search-runs 20] [--no-flip] [--out bench/results]   (SwiftShader WebGPU is slow: --no-flip saves half the time)
//
// Latency of each anytime step and of the full model (median after warm-up), the staged run against one
// monolithic forward (the price of being able to stop after any stage), and gallery search over 1k / 10k
// / 100k entries. Prints a table and writes engine-<backend>.json to bench/results (or --out).
import * as tf from '@tensorflow/tfjs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from '../src/engine/calibration';
import { AnytimeRunner, Calibration, GalleryIndex, memoryCostStorage, warmUp, type BackendName, type StageKey } from '../src/engine/index';
import { installNodeWebgpu } from '../src/engine/node/nodeWebgpu';
import { loadModel, MODEL_DIR, noiseImage, useBackend } from '../src/engine/node/testModel';
import { prepareBatch, runMonolithic, StagedPass } from '../src/engine/staged';
import { l2Normalise } from '../src/engine/vectors';
import { RESULTS_DIR } from './paths';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    runs: { type: 'string', default: '50' },
    model: { type: 'string', default: MODEL_DIR },
    'search-runs': { type: 'string', default: '20' },
    sizes: { type: 'string', default: '1000,10000,100000' },
    'no-flip': { type: 'boolean', default: false },
    out: { type: 'string', default: RESULTS_DIR },
  },
});
const backendName = args.backend as BackendName;
if (!['wasm', 'cpu', 'webgpu'].includes(backendName)) throw new Error(`--backend must be wasm, cpu or webgpu (WebGL needs a browser), not ${backendName}`);
const RUNS = Math.max(20, Number(args.runs));
const SEARCH_RUNS = Math.max(5, Number(args['search-runs']));
const GALLERY_SIZES = args.sizes.split(',').map(Number);
const K = 10;

const icd = backendName === 'webgpu' ? await installNodeWebgpu() : undefined;
const status = await useBackend(backendName);
if (status.active !== backendName) throw new Error(`${backendName} did not start: ${JSON.stringify(status.skipped)}`);
const modelDir = resolve(args.model);
const modelLabel = relative(process.cwd(), modelDir) || '.';
const model = await loadModel(modelDir);
await warmUp(model);
const image = noiseImage(model.meta.input.width, model.meta.input.height, 7);
const { layout } = model;

const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const fmt = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(2));

/** ms of `fn`, awaited. */
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function stagedPass(flip: boolean): Promise<number[]> {
  const pass = new StagedPass(model, [image], flip);
  try {
    const ms: number[] = [];
    for (let i = 0; i < layout.stepCount; i++) ms.push((await pass.step()).ms);
    return ms;
  } finally {
    pass.dispose();
  }
}

/** One execute() for every embedding, read back once: the fastest a full embed can be. */
async function monolithic(flip: boolean): Promise<void> {
  const out = tf.tidy(() => tf.stack(runMonolithic(model, prepareBatch(model, [image], flip))));
  await out.data();
  out.dispose();
}

// --- model latency: staged and monolithic interleaved, so that load on the machine hits both alike ---
interface ModelFigures {
  stepMs: number[];
  stepMinMs: number[];
  stagedMs: number;
  stagedMinMs: number;
  monolithicMs: number;
  monolithicMinMs: number;
  /** (staged − monolithic) / monolithic, from the medians. */
  overheadPct: number;
  /** The same from the minimums: on a machine busy with other work, the delays it adds only lengthen
   * runs, so the minimums are the better view of the cost itself. */
  overheadMinPct: number;
}

async function modelFigures(flip: boolean): Promise<ModelFigures> {
  const steps: number[][] = Array.from({ length: layout.stepCount }, () => []);
  const staged: number[] = [];
  const mono: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const ms = await stagedPass(flip);
    ms.forEach((m, i) => steps[i].push(m));
    staged.push(ms.reduce((a, b) => a + b, 0));
    mono.push(await time(() => monolithic(flip)));
  }
  return {
    stepMs: steps.map(median),
    stepMinMs: steps.map((s) => Math.min(...s)),
    stagedMs: median(staged),
    stagedMinMs: Math.min(...staged),
    monolithicMs: median(mono),
    monolithicMinMs: Math.min(...mono),
    overheadPct: (100 * (median(staged) - median(mono))) / median(mono),
    overheadMinPct: (100 * (Math.min(...staged) - Math.min(...mono))) / Math.min(...mono),
  };
}

const progress = (what: string) => console.error(`… ${what}`);
progress('model latency');
const plain = await modelFigures(false);
const flip = args['no-flip'] ? null : await modelFigures(true);

progress('calibration, runner, batch');
const runner = new AnytimeRunner(model, await Calibration.open(model, backendName, memoryCostStorage(), { measureFlip: flip !== null }));
/** ms of each of `n` sequential awaited calls of `fn`. */
async function timeRuns(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const ms: number[] = [];
  for (let r = 0; r < n; r++) ms.push(await time(fn));
  return ms;
}
const runnerMs = median(await timeRuns(RUNS, () => runner.embed(image, { deadlineMs: Infinity })));
const BATCH = 32;
const batchImages = Array.from({ length: BATCH }, (_, i) => noiseImage(image.width, image.height, i + 1));
await runner.embedAllBatch(batchImages);
const batchMs = median(await timeRuns(5, () => runner.embedAllBatch(batchImages)));

// --- gallery search ---
let seed = 1;
const random = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32 - 0.5;
};
const randomVector = () => l2Normalise(Float32Array.from({ length: 128 }, random));

interface SearchFigures {
  entries: number;
  addMs: number;
  searchMs: number;
  searchAllMs: number;
}
const search: SearchFigures[] = [];
const index = new GalleryIndex({ stages: layout.keys });
for (const size of GALLERY_SIZES) {
  progress(`search over ${size} entries`);
  const addMs = await time(async () => {
    while (index.size < size) {
      const v = randomVector(); // the same vector for every stage: the search cost does not care
      index.add(`e${index.size}`, layout.perStage(() => v) as Record<StageKey, Float32Array>);
    }
    await index.search(1, randomVector(), K); // includes the upload of the rows still pending
  });
  const queries = layout.perStage(() => randomVector());
  await index.searchAll(queries, K);
  const one: number[] = [];
  const all: number[] = [];
  for (let r = 0; r < SEARCH_RUNS; r++) {
    one.push(await time(() => index.search('fused', randomVector(), K)));
    all.push(await time(() => index.searchAll(queries, K)));
  }
  search.push({ entries: size, addMs, searchMs: median(one), searchAllMs: median(all) });
}
index.dispose();

// --- report ---
const device = backendName === 'webgpu' ? `WebGPU via Dawn (${status.detail ?? 'adapter ?'}; VK_ICD_FILENAMES=${icd ?? 'unset'})` : `${backendName} (${status.detail ?? 'Node'})`;
const lines = [
  `engine benchmark — backend ${device}, ${cpus().length} CPU(s), model ${modelLabel} (${(model.weightBytes / 1e6).toFixed(1)} MB)`,
  `medians of ${RUNS} runs after warm-up, 1 image ${model.meta.input.height}×${model.meta.input.width}, times in ms`,
  '',
  '| step | median | min | median, flip TTA |',
  '| --- | ---: | ---: | ---: |',
  ...plain.stepMs.map((ms, i) => `| ${i < layout.fusionStep ? `stage ${i + 1}` : 'fusion'} | ${ms.toFixed(2)} | ${plain.stepMinMs[i].toFixed(2)} | ${fmt(flip?.stepMs[i])} |`),
  `| staged total (${layout.stepCount} steps, each read back) | ${plain.stagedMs.toFixed(2)} | ${plain.stagedMinMs.toFixed(2)} | ${fmt(flip?.stagedMs)} |`,
  `| monolithic forward (1 execute, 1 read-back) | ${plain.monolithicMs.toFixed(2)} | ${plain.monolithicMinMs.toFixed(2)} | ${fmt(flip?.monolithicMs)} |`,
  `| staged overhead | ${plain.overheadPct.toFixed(1)} % | ${plain.overheadMinPct.toFixed(1)} % | ${flip ? `${flip.overheadPct.toFixed(1)} %` : '–'} |`,
  `| AnytimeRunner.embed, deadline ∞ | ${runnerMs.toFixed(2)} | | |`,
  `| embedAllBatch, per image in a batch of ${BATCH} | ${(batchMs / BATCH).toFixed(2)} | | |`,
  '',
  `| gallery entries | add all (ms) | search 1 stage, top ${K} (ms) | search all ${layout.stepCount} stages (ms) |`,
  '| ---: | ---: | ---: | ---: |',
  ...search.map((s) => `| ${s.entries.toLocaleString('en')} | ${s.addMs.toFixed(0)} | ${s.searchMs.toFixed(2)} | ${s.searchAllMs.toFixed(2)} |`),
];
console.log(lines.join('\n'));

const results = {
  backend: backendName,
  device,
  cpus: cpus().length,
  model: modelLabel,
  runs: RUNS,
  date: new Date().toISOString(),
  steps: plain.stepMs.map((x) => round(x)),
  stepsMin: plain.stepMinMs.map((x) => round(x)),
  stepsFlip: flip?.stepMs.map((x) => round(x)),
  stagedMs: round(plain.stagedMs),
  stagedMinMs: round(plain.stagedMinMs),
  monolithicMs: round(plain.monolithicMs),
  monolithicMinMs: round(plain.monolithicMinMs),
  overheadPct: round(plain.overheadPct, 1),
  overheadMinPct: round(plain.overheadMinPct, 1),
  stagedFlipMs: flip && round(flip.stagedMs),
  monolithicFlipMs: flip && round(flip.monolithicMs),
  overheadFlipPct: flip && round(flip.overheadPct, 1),
  runnerEmbedMs: round(runnerMs),
  batchPerImageMs: round(batchMs / BATCH),
  search: search.map((s) => ({ ...s, addMs: round(s.addMs, 0), searchMs: round(s.searchMs), searchAllMs: round(s.searchAllMs) })),
};
const out = join(resolve(args.out), `engine-${backendName}.json`);
await mkdir(dirname(out), { recursive: true });
await writeFile(out, JSON.stringify(results, null, 2) + '\n');
console.log(`\nwrote ${out}`);
model.dispose();
