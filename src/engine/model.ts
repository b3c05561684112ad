// Loading the DaRe graph model: model.json, its metadata (docs/architecture.md), the weight shards.
//
// The fetching is done here rather than by tf.io.http so that each failure gets its own clear error
// (unreachable, HTTP status, bad JSON, no/invalid metadata, short weights), the metadata is checked
// before the weights are downloaded, progress is byte-level, and the weights can be hashed for modelId.
import * as tf from '@tensorflow/tfjs';
import { errorMessage } from './errors';
import { MAX_EXITS, StageLayout } from './stages';
import type { DareMetadata, DarePart, DareStage, StageKey } from './types';

export type ModelLoadErrorKind =
  | 'network' // fetch itself failed (offline, DNS, CORS)
  | 'http' // a non-2xx answer (404…) for model.json or a shard
  | 'bad-json' // model.json is not JSON
  | 'not-a-graph-model' // JSON, but not a TF.js graph model
  | 'missing-metadata' // no userDefinedMetadata.dare
  | 'invalid-metadata' // userDefinedMetadata.dare does not follow the contract
  | 'weights' // shards missing bytes, or weights tfjs cannot build a graph from
  | 'aborted';

export class ModelLoadError extends Error {
  constructor(
    readonly kind: ModelLoadErrorKind,
    readonly url: string,
    message: string,
  ) {
    super(message);
    this.name = 'ModelLoadError';
  }
}

export interface LoadModelOptions {
  /** Called with the downloaded fraction of the weights, 0…1. */
  onProgress?: (fraction: number) => void;
  /** Defaults to globalThis.fetch (tests in Node pass one that reads files). */
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export interface DareModel {
  readonly graph: tf.GraphModel;
  readonly meta: DareMetadata;
  /** Its exits and their fusion, as every caller that walks the stages must see them. */
  readonly layout: StageLayout;
  /** The model.json URL it was loaded from. */
  readonly url: string;
  /** URL + hash of the weight bytes: galleries re-embed entries whose modelId differs (a re-export keeps
   * the URL and the manifest but changes the weights). */
  readonly modelId: string;
  /** Size of the weights in bytes. */
  readonly weightBytes: number;
  dispose(): void;
}

interface ModelJson {
  format?: unknown;
  modelTopology?: { node?: { name: string }[] };
  weightsManifest?: tf.io.WeightsManifestConfig;
  userDefinedMetadata?: { dare?: unknown };
}

/** Downloads, validates and builds the model on the active backend. Throws {@link ModelLoadError}. */
export async function loadDareModel(url: string, options: LoadModelOptions = {}): Promise<DareModel> {
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const json = await fetchModelJson(fetchFn, url, options.signal);
  if (json.format !== 'graph-model' || !Array.isArray(json.modelTopology?.node) || !Array.isArray(json.weightsManifest)) {
    throw new ModelLoadError('not-a-graph-model', url, `${url} is not a TF.js graph model (format 'graph-model' with a topology and a weights manifest)`);
  }
  if (json.userDefinedMetadata?.dare === undefined) {
    throw new ModelLoadError('missing-metadata', url, `${url} has no userDefinedMetadata.dare: not a DaRe model export`);
  }
  let meta: DareMetadata;
  try {
    meta = parseDareMetadata(json.userDefinedMetadata.dare, new Set(json.modelTopology.node.map((n) => n.name)));
  } catch (e) {
    throw new ModelLoadError('invalid-metadata', url, `${url}: invalid userDefinedMetadata.dare: ${errorMessage(e)}`);
  }

  const manifest = json.weightsManifest;
  const weightData = await fetchWeights(fetchFn, url, manifest, options);
  const artifacts = await tf.io.getModelArtifactsForJSON(json as tf.io.ModelJSON, async () => [
    manifest.flatMap((group) => group.weights),
    weightData,
  ]);
  let graph: tf.GraphModel;
  try {
    graph = await tf.loadGraphModel({ load: async () => artifacts });
  } catch (e) {
    throw new ModelLoadError('weights', url, `${url}: TF.js could not build the graph: ${errorMessage(e)}`);
  }
  return {
    graph,
    meta,
    layout: layoutOf(meta),
    url,
    modelId: `${url}#${hashBytes(weightData)}`,
    weightBytes: weightData.byteLength,
    dispose: () => graph.dispose(),
  };
}

async function fetchOk(fetchFn: typeof fetch, url: string, what: string, signal?: AbortSignal): Promise<Response> {
  let res: Response;
  try {
    res = await fetchFn(url, { signal });
  } catch (e) {
    if (signal?.aborted) throw new ModelLoadError('aborted', url, `loading ${url} was aborted`);
    throw new ModelLoadError('network', url, `could not fetch ${what} ${url}: ${errorMessage(e)}`);
  }
  if (!res.ok) {
    const status = res.status === 404 ? '404 not found' : `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    throw new ModelLoadError('http', url, `${what} ${url}: ${status}`);
  }
  return res;
}

async function fetchModelJson(fetchFn: typeof fetch, url: string, signal?: AbortSignal): Promise<ModelJson> {
  const res = await fetchOk(fetchFn, url, 'model', signal);
  const text = await res.text();
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not a JSON object');
    return parsed as ModelJson;
  } catch (e) {
    throw new ModelLoadError('bad-json', url, `${url} is not valid JSON (${errorMessage(e)}): ${text.slice(0, 80)}`);
  }
}

const BYTES_PER: Record<string, number> = { float32: 4, int32: 4, float16: 2, uint16: 2, uint8: 1, bool: 1 };

/** Bytes the shards must hold according to the manifest (quantised weights take their stored size). */
export function manifestBytes(manifest: tf.io.WeightsManifestConfig): number {
  let total = 0;
  for (const group of manifest) {
    for (const w of group.weights) {
      const dtype = w.quantization?.dtype ?? w.dtype;
      const bytes = BYTES_PER[dtype];
      if (bytes === undefined) throw new Error(`weight ${w.name}: unsupported dtype ${dtype}`);
      total += w.shape.reduce((a, b) => a * b, 1) * bytes;
    }
  }
  return total;
}

async function fetchWeights(fetchFn: typeof fetch, url: string, manifest: tf.io.WeightsManifestConfig, options: LoadModelOptions): Promise<ArrayBuffer> {
  const expected = manifestBytes(manifest);
  const base = url.slice(0, url.lastIndexOf('/') + 1);
  const paths = manifest.flatMap((group) => group.paths.map((p) => base + p));
  const loaded = new Array<number>(paths.length).fill(0);
  const report = () => options.onProgress?.(Math.min(1, loaded.reduce((a, b) => a + b, 0) / Math.max(1, expected)));
  report();
  const shards = await Promise.all(
    paths.map(async (shardUrl, i) => {
      const res = await fetchOk(fetchFn, shardUrl, 'weight shard', options.signal);
      try {
        return await readBody(res, (n) => {
          loaded[i] = n;
          report();
        });
      } catch (e) {
        if (options.signal?.aborted) throw new ModelLoadError('aborted', url, `loading ${url} was aborted`);
        throw new ModelLoadError('network', url, `weight shard ${shardUrl} broke off: ${errorMessage(e)}`);
      }
    }),
  );
  const total = shards.reduce((a, s) => a + s.byteLength, 0);
  if (total !== expected) {
    throw new ModelLoadError('weights', url, `${url}: the weight shards hold ${total} bytes, the manifest needs ${expected}`);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const s of shards) {
    out.set(s, offset);
    offset += s.byteLength;
  }
  return out.buffer;
}

async function readBody(res: Response, onBytes: (n: number) => void): Promise<Uint8Array> {
  if (!res.body) {
    const buf = new Uint8Array(await res.arrayBuffer());
    onBytes(buf.byteLength);
    return buf;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    n += value.byteLength;
    onBytes(n);
  }
  const out = new Uint8Array(n);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** 64-bit hex digest (two 32-bit multiplicative lanes over the words): identifies a weights file, not a
 * cryptographic hash. crypto.subtle is not used because it only exists in secure contexts. */
export function hashBytes(buffer: ArrayBuffer): string {
  const words = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  let h1 = 0x811c9dc5 ^ buffer.byteLength;
  let h2 = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h2 = Math.imul((h2 ^ w) + (h2 >>> 15), 0x85ebca6b);
  }
  const tail = new Uint8Array(buffer, words.length * 4);
  for (const b of tail) h1 = Math.imul(h1 ^ b, 0x01000193);
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x7feb352d);
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
  return (h1 >>> 0).toString(16).padStart(8, '0') + ((h2 ^ (h2 >>> 16)) >>> 0).toString(16).padStart(8, '0');
}

/** Checks `raw` against the contract in docs/architecture.md (and, when given, that every node it
 * names exists in the graph). Throws an Error saying what is wrong. */
export function parseDareMetadata(raw: unknown, nodeNames?: ReadonlySet<string>): DareMetadata {
  const obj = (v: unknown, path: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${path} must be an object`);
    return v as Record<string, unknown>;
  };
  const node = (v: unknown, path: string): string => {
    if (typeof v !== 'string' || !v) throw new Error(`${path} must be a node name`);
    if (nodeNames && !nodeNames.has(v)) throw new Error(`${path}: node '${v}' is not in the graph`);
    return v;
  };
  const positiveInt = (v: unknown, path: string): number => {
    if (!Number.isInteger(v) || (v as number) <= 0) throw new Error(`${path} must be a positive integer`);
    return v as number;
  };
  const finite = (v: unknown, path: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${path} must be a finite number`);
    return v;
  };

  const root = obj(raw, 'dare');
  if (root.version !== 1 && root.version !== 2) throw new Error(`version ${String(root.version)} is not supported (expected 1 or 2)`);
  const version = root.version;
  const input = obj(root.input, 'input');
  const inputName = node(input.name, 'input.name');
  const stages = root.stages;
  if (!Array.isArray(stages) || stages.length < 1 || stages.length > MAX_EXITS) throw new Error(`stages must list 1 to ${MAX_EXITS} exits`);
  const layout = new StageLayout(stages.length);
  const fused = obj(root.fused, 'fused');
  const weights = fused.weights;
  if (!Array.isArray(weights) || weights.length !== stages.length) throw new Error(`fused.weights must hold ${stages.length} numbers (one per stage)`);
  if (root.distance !== 'euclidean-l2normalised') throw new Error(`distance '${String(root.distance)}' is not supported (expected 'euclidean-l2normalised')`);

  const thresholds = (t: Record<string, unknown>): Record<StageKey, number> => {
    const out = {} as Record<StageKey, number>;
    for (const key of layout.keys) {
      const v = finite(t[key], `unknownThresholds.${key}`);
      if (v <= 0) throw new Error(`unknownThresholds.${key} must be positive`);
      out[key] = v;
    }
    return out;
  };

  // Format 1 chains the exits through their feature maps; format 2 computes each from the input.
  const parseStage = (s: unknown, i: number, previous: DareStage | undefined): DareStage => {
    const stage = obj(s, `stages[${i}]`);
    const embedding = node(stage.embedding, `stages[${i}].embedding`);
    const macs = finite(stage.macs, `stages[${i}].macs`);
    if (previous && macs < previous.macs) throw new Error(`stages[${i}].macs must be cumulative (at least stages[${i - 1}].macs)`);
    if (version === 1) {
      const features = node(stage.features, `stages[${i}].features`);
      const feed = previous?.features ?? inputName;
      return { feed, features, embedding, macs, parts: [{ feed, features, embedding, macs }] };
    }
    if (stage.input !== inputName) throw new Error(`stages[${i}].input must be the model's input '${inputName}' (format 2)`);
    const resolution = stage.resolution;
    if (!Array.isArray(resolution) || resolution.length !== 2) throw new Error(`stages[${i}].resolution must be [height, width]`);
    return {
      feed: inputName,
      embedding,
      macs,
      resolution: [positiveInt(resolution[0], `stages[${i}].resolution[0]`), positiveInt(resolution[1], `stages[${i}].resolution[1]`)],
      parts: stage.parts === undefined ? [{ feed: inputName, features: null, embedding, macs }] : parseParts(stage.parts, i, inputName, embedding, macs, previous?.macs ?? 0),
    };
  };
  // Format 2's optional parts: every part but the last ends with a feature map the next one is fed; the
  // last yields the exit's embedding; their multiply-adds run from the previous exit's to this exit's.
  const parseParts = (raw: unknown, i: number, feed: string, embedding: string, macs: number, before: number): DarePart[] => {
    if (!Array.isArray(raw) || raw.length < 1) throw new Error(`stages[${i}].parts must list at least one part`);
    const parts: DarePart[] = [];
    let running = before;
    raw.forEach((p: unknown, j) => {
      const path = `stages[${i}].parts[${j}]`;
      const part = obj(p, path);
      const last = j === raw.length - 1;
      if (last && part.features !== undefined) throw new Error(`${path}: the last part yields the embedding and must not name features`);
      const partMacs = finite(part.macs, `${path}.macs`);
      if (partMacs < running) throw new Error(`${path}.macs must be cumulative (at least ${running})`);
      running = partMacs;
      parts.push({ feed: parts[j - 1]?.features ?? feed, features: last ? null : node(part.features, `${path}.features`), embedding: last ? embedding : null, macs: partMacs });
    });
    if (running !== macs) throw new Error(`stages[${i}].parts: the last part's macs (${running}) must be the stage's (${macs})`);
    return parts;
  };
  const parsed: DareStage[] = [];
  stages.forEach((s: unknown, i) => parsed.push(parseStage(s, i, parsed[i - 1])));

  return {
    input: { name: inputName, height: positiveInt(input.height, 'input.height'), width: positiveInt(input.width, 'input.width') },
    stages: parsed,
    fused: { embedding: node(fused.embedding, 'fused.embedding'), weights: weights.map((w: unknown, i) => finite(w, `fused.weights[${i}]`)) },
    distance: root.distance,
    version,
    ...(root.unknownThresholds === undefined ? {} : { unknownThresholds: thresholds(obj(root.unknownThresholds, 'unknownThresholds')) }),
  };
}

/** The stage layout a parsed model's metadata describes. */
export function layoutOf(meta: Pick<DareMetadata, 'stages'>): StageLayout {
  return new StageLayout(meta.stages.length);
}
