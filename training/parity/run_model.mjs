// Parity runner: embeds images with an exported DaRe model, both in one call and stage by stage.
//
//   node training/parity/run_model.mjs MODEL_DIR IMAGES.f32 OUT.f32 [--backend wasm|cpu|webgpu]
//
// IMAGES.f32: N images, float32 little-endian NHWC RGB 0-255 at the model's input size (N is
// inferred from the file size). OUT.f32: float32 [2][N][E][128] — monolithic, then staged; the E rows
// are the exits (metadata order) then fused, not normalised. A JSON summary (backend, N) goes to stdout's last line.
import { readFile, writeFile } from 'node:fs/promises';
import { embedMonolithic, embedStaged, interleave, loadDareModel, tf, useBackend } from './tfjs_model.mjs';

const [modelDir, imagesPath, outPath, ...rest] = process.argv.slice(2);
if (!outPath) {
  console.error('usage: run_model.mjs MODEL_DIR IMAGES.f32 OUT.f32 [--backend wasm|cpu|webgpu]');
  process.exit(2);
}
const backendFlag = rest.indexOf('--backend');
const backend = backendFlag >= 0 ? rest[backendFlag + 1] : 'wasm';

await useBackend(backend);
const { model, meta } = await loadDareModel(modelDir);
const { height, width } = meta.input;
const raw = await readFile(imagesPath);
const perImage = height * width * 3 * 4;
if (raw.byteLength % perImage !== 0) throw new Error(`${imagesPath}: ${raw.byteLength} bytes is not a whole number of ${height}x${width} images`);
const n = raw.byteLength / perImage;
const pixels = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
const images = tf.tensor4d(pixels, [n, height, width, 3]);

const monolithic = await interleave(embedMonolithic(model, meta, images));
const staged = await interleave(embedStaged(model, meta, images));
images.dispose();

const out = new Float32Array(monolithic.length * 2);
out.set(monolithic, 0);
out.set(staged, monolithic.length);
await writeFile(outPath, Buffer.from(out.buffer));
console.log(JSON.stringify({ backend: tf.getBackend(), n }));
