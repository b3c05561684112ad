// npm run bench:webcam [-- --clip file.y4m] [--frames 120] [--budgets 33,66,100] [--fresh-every 30] [--gallery 500]
//
// The webcam pipeline frame by frame on a recorded clip (default: the two-people clip built from
// Market-1501, as the e2e test's fake camera plays it), on wasm: detector ms, engine ms per person, and
// the share of frames within the frame budget for each budget. Every `fresh-every` frames the people are
// forgotten (as if they had just walked in) so that the engine keeps having work. The gallery holds
// Market-1501 query images, so every search is a real one. Prints a table and writes
// bench/results/webcam-wasm.json.
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { marketMissing, marketRoot, readMarketImage } from '../e2e/video/market';
import { DEFAULT_CLIP, writeClip } from '../e2e/video/build';
import { readY4m, type RgbFrame } from '../e2e/video/y4m';
import { Calibration, GalleryIndex, memoryCostStorage, warmUp } from '../src/engine/index';
import { median } from '../src/engine/calibration';
import { loadModel, modelAvailable, NO_MODEL, useBackend } from '../src/engine/node/testModel';
import { AnytimeRunner } from '../src/engine/runner';
import { parseImageName } from '../src/protocol/index';
import { detectorAvailable, loadTestDetector, NO_DETECTOR } from '../src/webcam/node/testDetector';
import { WebcamPipeline, type FrameReport, type GalleryView } from '../src/webcam/pipeline';
import { RESULTS_DIR } from './paths';

const { values: args } = parseArgs({
  options: {
    clip: { type: 'string' },
    frames: { type: 'string', default: '120' },
    budgets: { type: 'string', default: '33,66,100' },
    'fresh-every': { type: 'string', default: '30' },
    gallery: { type: 'string', default: '500' },
  },
});
const FRAMES = Number(args.frames);
const BUDGETS = args.budgets.split(',').map(Number);
const FRESH_EVERY = Number(args['fresh-every']);
/** The target's tolerance: a frame counts as within budget up to this much over. */
const TOLERANCE_MS = 2;

const skip = !modelAvailable ? NO_MODEL : !detectorAvailable ? NO_DETECTOR : !args.clip ? marketMissing() : null;
if (skip) {
  console.log(`bench:webcam ${skip.startsWith('SKIPPED') ? skip : `SKIPPED: ${skip}`}`);
  process.exit(0);
}

const clipFile = args.clip ? resolve(args.clip) : writeClip(DEFAULT_CLIP).file;
const { frames } = readY4m(clipFile);

const status = await useBackend('wasm');
const model = await loadModel();
await warmUp(model);
const calibration = await Calibration.open(model, 'wasm', memoryCostStorage());
const detector = await loadTestDetector();
const runner = new AnytimeRunner(model, calibration);

// Gallery: the first N Market-1501 query images, every stage's embedding of each.
const index = new GalleryIndex({ stages: model.layout.keys });
const identities = new Map<string, string>();
const galleryFiles = marketMissing() ? [] : listQuery(Number(args.gallery));
for (let i = 0; i < galleryFiles.length; i += 50) {
  const batch = galleryFiles.slice(i, i + 50);
  const embeddings = await runner.embedAllBatch(batch.map((f) => readMarketImage(f)));
  batch.forEach((f, j) => {
    index.add(f, embeddings[j]);
    const label = parseImageName(f);
    if (label?.kind === 'person') identities.set(f, label.identity);
  });
}
const gallery = (): GalleryView => ({ version: 0, size: index.size, search: (s, e, k) => index.search(s, e, k), identityOf: (id) => identities.get(id) });
const thresholds = { perStage: model.meta.unknownThresholds ?? {}, source: 'default' as const, positives: 0, negatives: 0 };

function listQuery(n: number): string[] {
  const dir = join(marketRoot(), 'query');
  return fs.readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().slice(0, n);
}

function tensorOf(f: RgbFrame): tf.Tensor3D {
  return tf.tensor3d(f.data, [f.height, f.width, 3], 'float32');
}

const pct = (n: number, of: number) => (of === 0 ? null : Number(((100 * n) / of).toFixed(1)));
const round = (x: number) => Number(x.toFixed(2));
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

const results = [];
for (const budgetMs of BUDGETS) {
  const pipeline = new WebcamPipeline({ detector, model, calibration, gallery });
  await pipeline.prepare({ width: frames[0].width, height: frames[0].height });
  // One untimed pass over a few frames: the first run of each kernel at a new shape is not representative.
  for (let i = 0; i < 3; i++) {
    const t = tensorOf(frames[i]);
    await pipeline.process(t, { budgetMs, thresholds, thresholdScale: 1 });
    t.dispose();
  }
  pipeline.reset();
  const reports: FrameReport[] = [];
  for (let i = 0; i < FRAMES; i++) {
    if (i > 0 && i % FRESH_EVERY === 0) pipeline.reset();
    const t = tensorOf(frames[i % frames.length]);
    reports.push(await pipeline.process(t, { budgetMs, thresholds, thresholdScale: 1 }));
    t.dispose();
  }
  pipeline.dispose();
  const detectorMs = reports.map((r) => r.detectorMs);
  const personFrames = reports.flatMap((r) => r.perPerson);
  const eligible = reports.filter((r) => r.floorMs <= budgetMs);
  const sides = [...new Set(reports.map((r) => r.detectorSide))].sort((a, b) => b - a);
  const reachedFused = reports.filter((r) => r.people.length > 0 && r.people.every((p) => p.stage === 'fused')).length;
  results.push({
    budgetMs,
    frames: reports.length,
    detectorMedianMs: round(median(detectorMs)),
    detectorP90Ms: round(quantile(detectorMs, 0.9)),
    detectorSides: sides,
    engineMsPerPerson: personFrames.length ? round(median(personFrames.map((p) => p.ms))) : null,
    partsPerPerson: personFrames.length ? round(personFrames.reduce((s, p) => s + p.parts, 0) / personFrames.length) : null,
    frameMedianMs: round(median(reports.map((r) => r.totalMs))),
    withinBudgetPct: pct(reports.filter((r) => r.totalMs <= budgetMs).length, reports.length),
    withinBudgetPlus2Pct: pct(reports.filter((r) => r.totalMs <= budgetMs + TOLERANCE_MS).length, reports.length),
    framesWithRoom: eligible.length,
    withinBudgetPlus2WithRoomPct: pct(eligible.filter((r) => r.totalMs <= budgetMs + TOLERANCE_MS).length, eligible.length),
    framesAllFusedPct: pct(reachedFused, reports.length),
  });
}

const out = {
  backend: status.active,
  backendDetail: status.detail,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  clip: args.clip ? clipFile : 'two-people (Market-1501, built at run time)',
  frameSize: `${frames[0].width}x${frames[0].height}`,
  frames: FRAMES,
  freshEvery: FRESH_EVERY,
  gallerySize: index.size,
  stageCostsMs: calibration.costs().ms.map(round),
  results,
  date: new Date().toISOString(),
};
console.table(
  results.map((r) => ({
    'budget ms': r.budgetMs,
    'detector ms (med/p90)': `${r.detectorMedianMs} / ${r.detectorP90Ms}`,
    'detector sides': r.detectorSides.join(','),
    'engine ms/person': r.engineMsPerPerson,
    'parts/person': r.partsPerPerson,
    'frame ms (med)': r.frameMedianMs,
    'within budget %': r.withinBudgetPct,
    'within +2 ms %': r.withinBudgetPlus2Pct,
    'frames with room': r.framesWithRoom,
    'within +2 ms, with room %': r.withinBudgetPlus2WithRoomPct,
  })),
);
const file = join(RESULTS_DIR, 'webcam-wasm.json');
await mkdir(dirname(file), { recursive: true });
await writeFile(file, JSON.stringify(out, null, 2) + '\n');
console.log(`wrote ${file}`);
index.dispose();
detector.dispose();
model.dispose();
