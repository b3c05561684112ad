// Peer re-ID models (../shared/peers/*.onnx) run through onnxruntime-web's wasm backend on the same Market
// images: each needs its own input size, channel order and normalisation.
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import type { RgbaPixels } from '../../src/engine/index';

export interface PeerSpec {
  name: string;
  /** Short name for plot legends. */
  label: string;
  file: string;
  height: number;
  width: number;
  /** Channel order of the input. */
  order: 'rgb' | 'bgr';
  /** Per-channel (in `order`) mean and std applied to 0–255 values. */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

const IMAGENET_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255] as const;
const IMAGENET_STD = [0.229 * 255, 0.224 * 255, 0.225 * 255] as const;

export const PEERS: readonly PeerSpec[] = [
  { name: 'osnet_x0_25_market1501', label: 'OSNet x0.25', file: 'osnet_x0_25_market1501.onnx', height: 256, width: 128, order: 'rgb', mean: IMAGENET_MEAN, std: IMAGENET_STD },
  { name: 'person-reidentification-retail-0267', label: 'OpenVINO retail-0267', file: 'person-reidentification-retail-0267.onnx', height: 256, width: 128, order: 'bgr', mean: [0, 0, 0], std: [1, 1, 1] },
];

// The generated protobuf code for ONNX that onnxruntime-web ships (not an export of the package).
interface OnnxNode {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  attribute: { name: string; type?: number; ints?: (number | { toNumber(): number })[]; i?: number }[];
}
interface OnnxModel {
  graph: { node: OnnxNode[]; initializer: object[] };
}
interface OnnxProto {
  ModelProto: { decode(bytes: Uint8Array): OnnxModel; encode(m: OnnxModel): { finish(): Uint8Array } };
  NodeProto: { create(p: object): OnnxNode };
  AttributeProto: { create(p: object): object; AttributeType: Record<string, number> };
  TensorProto: { create(p: object): object; DataType: Record<string, number> };
}

function onnxProto(repoRoot: string): OnnxProto {
  const require = createRequire(import.meta.url);
  return (require(join(repoRoot, 'node_modules/onnxruntime-web/lib/onnxjs/ort-schema/protobuf/onnx.js')) as { onnx: OnnxProto }).onnx;
}

const MVN_EPS = 1e-9;

/** Replaces each MeanVarianceNormalization node by the same computation with an ε under the square root:
 * (x − mean) / √(var + ε). Without it, onnxruntime-web gives NaN wherever a channel is constant (0/0). */
export function patchMeanVarianceNormalization(bytes: Uint8Array, repoRoot: string): { bytes: Uint8Array; patched: number } {
  const onnx = onnxProto(repoRoot);
  const model = onnx.ModelProto.decode(bytes);
  const { INTS, INT } = onnx.AttributeProto.AttributeType;
  const epsName = 'curves/mvn_eps';
  let patched = 0;
  const nodes: OnnxNode[] = [];
  for (const node of model.graph.node) {
    if (node.opType !== 'MeanVarianceNormalization') {
      nodes.push(node);
      continue;
    }
    const axesAttr = node.attribute.find((a) => a.name === 'axes');
    const axes = (axesAttr?.ints ?? [0, 2, 3]).map((v) => (typeof v === 'number' ? v : v.toNumber()));
    const [x] = node.input;
    const [y] = node.output;
    const p = `curves/mvn${patched}/`;
    const reduce = (input: string, output: string) =>
      onnx.NodeProto.create({
        opType: 'ReduceMean',
        input: [input],
        output: [output],
        attribute: [onnx.AttributeProto.create({ name: 'axes', type: INTS, ints: axes }), onnx.AttributeProto.create({ name: 'keepdims', type: INT, i: 1 })],
      });
    const op = (opType: string, input: string[], output: string) => onnx.NodeProto.create({ opType, input, output: [output], attribute: [] });
    nodes.push(
      reduce(x, `${p}mean`),
      op('Sub', [x, `${p}mean`], `${p}centred`),
      op('Mul', [`${p}centred`, `${p}centred`], `${p}squared`),
      reduce(`${p}squared`, `${p}var`),
      op('Add', [`${p}var`, epsName], `${p}varEps`),
      op('Sqrt', [`${p}varEps`], `${p}std`),
      op('Div', [`${p}centred`, `${p}std`], y),
    );
    patched++;
  }
  if (patched > 0) {
    model.graph.node = nodes;
    model.graph.initializer.push(onnx.TensorProto.create({ name: epsName, dataType: onnx.TensorProto.DataType.FLOAT, dims: [], floatData: [MVN_EPS] }));
  }
  return { bytes: patched > 0 ? onnx.ModelProto.encode(model).finish() : bytes, patched };
}

export class PeerModel {
  private constructor(
    readonly spec: PeerSpec,
    private readonly session: ort.InferenceSession,
    /** MVN nodes given an ε. */
    readonly patched: number,
  ) {}

  static async load(spec: PeerSpec, bytes: Uint8Array, repoRoot: string): Promise<PeerModel> {
    const fixed = patchMeanVarianceNormalization(bytes, repoRoot);
    ort.env.logLevel = 'error'; // not the unused-initializer warnings of every session
    const session = await ort.InferenceSession.create(fixed.bytes, { executionProviders: ['wasm'], logSeverityLevel: 3 });
    return new PeerModel(spec, session, fixed.patched);
  }

  /** [1, 3, H, W] input: the image resized bilinearly (as the engine resizes), reordered, normalised. */
  private input(image: RgbaPixels): ort.Tensor {
    const { height, width, order, mean, std } = this.spec;
    const resized = tf.tidy(() => {
      const rgba = tf.tensor3d(Float32Array.from(image.data), [image.height, image.width, 4]);
      const rgb = tf.slice(rgba, [0, 0, 0], [image.height, image.width, 3]);
      return tf.image.resizeBilinear(rgb, [height, width], false, true).dataSync() as Float32Array;
    });
    const plane = height * width;
    const out = new Float32Array(3 * plane);
    for (let c = 0; c < 3; c++) {
      const src = order === 'rgb' ? c : 2 - c;
      for (let i = 0; i < plane; i++) out[c * plane + i] = (resized[i * 3 + src] - mean[c]) / std[c];
    }
    return new ort.Tensor('float32', out, [1, 3, height, width]);
  }

  /** The L2-normalised embedding of one image and the ms the model itself took (pre-processing apart). */
  async embed(image: RgbaPixels): Promise<{ embedding: Float32Array; ms: number }> {
    const feed = { [this.session.inputNames[0]]: this.input(image) };
    const t0 = performance.now();
    const result = await this.session.run(feed);
    const ms = performance.now() - t0;
    const raw = result[this.session.outputNames[0]].data as Float32Array;
    let norm = 0;
    for (const v of raw) norm += v * v;
    norm = Math.sqrt(norm) || 1;
    return { embedding: Float32Array.from(raw, (v) => v / norm), ms };
  }
}
