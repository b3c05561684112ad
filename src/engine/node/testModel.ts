// Node only: what the engine's tests and benchmark share to run the real model on wasm.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FORMAT1_MODEL, FORMAT2_MODEL, REFERENCE_MODEL } from '../../shippedModel';
import { initBackend } from '../backend';
import { loadDareModel, type DareModel } from '../model';
import type { RgbaPixels } from '../pixels';
import type { BackendName, BackendStatus } from '../types';
import { fileFetch, modelJsonUrl } from './fileFetch';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface TestModel {
  name: string;
  dir: string;
  /** Its declared input size (test images are made at it). */
  input: { height: number; width: number };
  /** How many exits its metadata lists. */
  exits: number;
}

interface ModelJson {
  userDefinedMetadata: { dare: { input: { height: number; width: number }; stages: unknown[] } };
}

/** A model folder's name, place and metadata, or null when models/<name> has no model.json. */
function testModel(name: string): TestModel | null {
  const dir = join(ROOT, 'models', name);
  const file = join(dir, 'model.json');
  if (!existsSync(file)) return null;
  const { dare } = (JSON.parse(readFileSync(file, 'utf8')) as ModelJson).userDefinedMetadata;
  return { name, dir, input: dare.input, exits: dare.stages.length };
}

export const MODEL_DIR = join(ROOT, 'models', REFERENCE_MODEL);
export const WASM_DIR = join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist') + '/';
/** The reference model (what the Node tests load by default), or null when it is absent. */
export const REFERENCE_TEST_MODEL = testModel(REFERENCE_MODEL);
export const modelAvailable = REFERENCE_TEST_MODEL !== null;
/** The model's input size, known before it loads so that test images can be made at it. */
export const MODEL_INPUT: { height: number; width: number } = REFERENCE_TEST_MODEL?.input ?? { height: 128, width: 64 };
export const NO_MODEL = `SKIPPED: models/${REFERENCE_MODEL}/model.json is absent (export one with training/dare/export_tfjs.py)`;

/** The chain model (contract format 1), for tests written against its five steps; null when absent. */
export const FORMAT1_TEST_MODEL = testModel(FORMAT1_MODEL);

/** The models the engine's tests run on, those present of: the format-1 model (a chain of exits) and the
 * format-2 model (exits computed from the input at their own sizes). */
export const TEST_MODELS: readonly TestModel[] = [FORMAT1_TEST_MODEL, testModel(FORMAT2_MODEL)].filter((m): m is TestModel => m !== null);

/** Title for a describe block that needs the model: says why it is skipped when it is. */
export const withModel = (title: string): string => (modelAvailable ? title : `${title} — ${NO_MODEL}`);

export function useBackend(name: BackendName = 'wasm'): Promise<BackendStatus> {
  return initBackend({ force: name, wasmPaths: WASM_DIR });
}

export function loadModel(dir = MODEL_DIR): Promise<DareModel> {
  return loadDareModel(modelJsonUrl(dir), { fetch: fileFetch });
}

/** A deterministic pseudo-random RGBA image. */
export function noiseImage(width: number, height: number, seed = 1): RgbaPixels {
  const data = new Uint8ClampedArray(width * height * 4);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    data[i] = s & 255;
  }
  return { width, height, data };
}
