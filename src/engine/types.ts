// Shared engine types: the contract between the engine, the gallery, the stores and the UI.

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

export interface BackendStatus {
  active: BackendName;
  /** Backends not used, with the reason (no adapter, software renderer, slower, init failed, forced…). */
  skipped: { name: BackendName; reason: string }[];
  /** In Automatic mode: why this backend was chosen ("Automatic: …"); absent when forced. */
  choice?: string;
  /** Optional detail on the active backend (WebGPU adapter, wasm SIMD/threads), for display. */
  detail?: string;
}

import type { StageId, StageKey } from './stages';

export { StageLayout, stageKey, isStageKey, MAX_EXITS, type ExitStage, type StageId, type StageKey } from './stages';

/** One L2-normalised embedding per stage id (every stage for gallery entries). */
export type StageEmbeddings = Partial<Record<StageKey, Float32Array>>;

/** One graph call of an exit: the engine can stop after any part and resume with the next in a later
 * frame (format 2's optional `parts`; an exit without them is one part). */
export interface DarePart {
  /** The node this part is fed: the stage's feed for its first part, else the previous part's features. */
  feed: string;
  /** The feature map the next part (or, format 1, the next stage) is fed; null when nothing is fed from it. */
  features: string | null;
  /** The exit's embedding: computed by its last part only. */
  embedding: string | null;
  /** Cumulative multiply-adds at the end of this part, in execution order (the last part's = the stage's). */
  macs: number;
}

/** One exit of the model, as the engine runs it (both contract formats, docs/architecture.md). */
export interface DareStage {
  /** The graph node this stage is fed: the model's input, or (format 1, a chain) the previous stage's features. */
  feed: string;
  /** The node the next stage is fed from (format 1); absent when no stage is fed from this one (format 2). */
  features?: string;
  embedding: string;
  /** Cumulative multiply-adds to reach this exit's embedding, in execution order. */
  macs: number;
  /** Format 2: the [height, width] the graph resizes the input to for this exit. */
  resolution?: readonly [number, number];
  /** The exit's graph calls in order (at least one; the last yields `embedding`). */
  parts: readonly DarePart[];
}

export interface DareMetadata {
  input: { name: string; height: number; width: number };
  stages: DareStage[];
  fused: { embedding: string; weights: number[] };
  distance: string;
  /** 1: the exits are a chain (stage s+1 fed by stage s's features); 2: each exit computed from the input. */
  version: 1 | 2;
  /** Per-stage distance below which two images are taken for the same person, measured on Market-1501
   * at export time (optional: older exports lack it). */
  unknownThresholds?: Record<StageKey, number>;
}

/** Learned cost in ms of each step on this device and backend: each exit alone, then the fusion
 * (the model layout's stepCount values, in step order). */
export interface StageCosts {
  backend: BackendName;
  modelUrl: string;
  /** Mean ms of each step (not cumulative). */
  ms: number[];
  /** The same with flip TTA (image + mirror in one batch of 2); absent until measured or learned. */
  flipMs?: number[];
  samples: number;
  updatedAt: number;
}

export interface EmbedOptions {
  /** Time budget in ms for this embed, measured from the call. Infinity runs everything. */
  deadlineMs: number;
  /** Average the embedding of the image and its horizontal mirror (costs 2× per stage). */
  flip?: boolean;
  /** After the budgeted steps, run the remaining ones on the same pass (see EmbedResult.completed). */
  complete?: boolean;
}

export interface EmbedResult {
  /** The deepest embedding computed: 'fused' only when every exit ran. */
  stage: StageId;
  embedding: Float32Array;
  embeddings: StageEmbeddings;
  /** Measured ms per executed step, in order (stage 1, 2, …, fusion). */
  stageMs: number[];
  totalMs: number;
  /** True when even stage 1 (which always runs) finished after the deadline. */
  overran: boolean;
  /** With EmbedOptions.complete: every embedding, the budgeted ones and those computed after the deadline. */
  completed?: Record<StageKey, Float32Array>;
}

export interface Match {
  id: string;
  distance: number;
}
