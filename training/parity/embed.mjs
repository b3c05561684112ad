// Embeds a batch file of images with an exported DaRe model, in Node with TF.js (the eval's runner).
//
//   node training/parity/embed.mjs MODEL_DIR IMAGES.u8 OUT.f32 [--batch 64] [--backend wasm|cpu|webgpu]
//
// MODEL_DIR: a model.json + shards directory (docs/architecture.md); its metadata gives the input size.
// IMAGES.u8: N images, uint8 RGB NHWC at exactly that size, back to back (N = file size / (H*W*3)).
// OUT.f32:   float32 little-endian [N][E][128]: every exit (metadata order) then fused, NOT normalised.
// Progress goes to stderr; the last stdout line is a JSON summary {n, backend, seconds, imagesPerSecond}.
// Exit status is non-zero on any error (bad arguments, size mismatch, load failure).
import { closeSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { embedMonolithic, interleave, loadDareModel, tf, useBackend } from './tfjs_model.mjs';

function parseArgs(argv) {
  const positional = [];
  const flags = { batch: '64', backend: 'wasm' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) flags[argv[i].slice(2)] = argv[++i];
    else positional.push(argv[i]);
  }
  const batch = Number(flags.batch);
  if (positional.length !== 3 || !Number.isInteger(batch) || batch < 1) {
    console.error('usage: embed.mjs MODEL_DIR IMAGES.u8 OUT.f32 [--batch 64] [--backend wasm|cpu|webgpu]');
    process.exit(2);
  }
  const [modelDir, imagesPath, outPath] = positional;
  return { modelDir, imagesPath, outPath, batch, backend: flags.backend };
}

const args = parseArgs(process.argv.slice(2));
await useBackend(args.backend);
const { model, meta } = await loadDareModel(args.modelDir);
const { height, width } = meta.input;
const perImage = height * width * 3;
const bytes = statSync(args.imagesPath).size;
if (bytes % perImage !== 0) {
  throw new Error(`${args.imagesPath}: ${bytes} bytes is not a whole number of ${height}x${width}x3 images`);
}
const n = bytes / perImage;

const input = openSync(args.imagesPath, 'r');
const output = openSync(args.outPath, 'w');
const started = performance.now();
let lastReport = 0;
try {
  for (let start = 0; start < n; start += args.batch) {
    const count = Math.min(args.batch, n - start);
    const pixels = new Uint8Array(count * perImage);
    readSync(input, pixels, 0, pixels.length, start * perImage);
    const images = tf.tensor4d(pixels, [count, height, width, 3], 'float32');
    const embeddings = await interleave(embedMonolithic(model, meta, images));
    images.dispose();
    writeSync(output, new Uint8Array(embeddings.buffer, embeddings.byteOffset, embeddings.byteLength));
    const done = start + count;
    const now = performance.now();
    if (now - lastReport > 2000 || done === n) {
      lastReport = now;
      const rate = done / ((now - started) / 1000);
      console.error(`embed: ${done}/${n} images, ${rate.toFixed(1)} img/s`);
    }
  }
} finally {
  closeSync(input);
  closeSync(output);
}
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ n, backend: tf.getBackend(), seconds: +seconds.toFixed(2), imagesPerSecond: +(n / seconds).toFixed(1) }));
