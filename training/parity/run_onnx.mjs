// Runs an ONNX model with onnxruntime-web (wasm, one thread) in Node: the reference an imported
// backbone is checked against (tests/test_osnet.py).
//
//   node training/parity/run_onnx.mjs MODEL.onnx INPUT.f32 OUT.f32 --shape N,C,H,W [--input NAME] [--output NAME]
//
// INPUT.f32: float32 little-endian, exactly the product of --shape values, fed to the input NAME (default:
// the model's first input). OUT.f32: the output NAME (default: the first output) as float32
// little-endian. A JSON summary (output name, dims) goes to stdout's last line.
import { readFile, writeFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-web';

const [modelPath, inputPath, outPath, ...rest] = process.argv.slice(2);
const flag = (name) => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : undefined;
};
const shapeFlag = flag('--shape');
if (!outPath || !shapeFlag) {
  console.error('usage: run_onnx.mjs MODEL.onnx INPUT.f32 OUT.f32 --shape N,C,H,W [--input NAME] [--output NAME]');
  process.exit(2);
}
const shape = shapeFlag.split(',').map(Number);

ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['wasm'] });
const inputName = flag('--input') ?? session.inputNames[0];
const outputName = flag('--output') ?? session.outputNames[0];

const raw = await readFile(inputPath);
const expected = shape.reduce((a, b) => a * b, 1) * 4;
if (raw.byteLength !== expected) throw new Error(`${inputPath}: ${raw.byteLength} bytes, shape [${shape}] needs ${expected}`);
const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
const results = await session.run({ [inputName]: new ort.Tensor('float32', data, shape) }, [outputName]);
const out = results[outputName];
if (out.type !== 'float32') throw new Error(`${outputName} is ${out.type}, not float32`);
await writeFile(outPath, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
console.log(JSON.stringify({ output: outputName, dims: out.dims }));
