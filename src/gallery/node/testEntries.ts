// Test data for gallery tests: entries with random unit embeddings and a real JPEG thumbnail.
import { personJpeg } from '../../../e2e/fixtures/makeImages';
import { StageLayout, type StageKey } from '../../engine/stages';
import type { GalleryEntry } from '../types';

/** A seeded generator (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function unitVector(dim: number, random: () => number): Float32Array {
  const v = Float32Array.from({ length: dim }, () => random() * 2 - 1);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/** The stage layout of the test entries unless a test asks for another: a four-exit model's. */
export const TEST_LAYOUT = new StageLayout(4);

export function makeEntry(i: number, opts: { dim?: number; modelId?: string; seed?: number; layout?: StageLayout } = {}): GalleryEntry {
  const { dim = 128, modelId = '/models/dare-mnv2/model.json#abc123', seed = i + 1, layout = TEST_LAYOUT } = opts;
  const random = rng(seed);
  const embeddings = Object.fromEntries(layout.keys.map((k) => [k, unitVector(dim, random)])) as Record<StageKey, Float32Array>;
  const jpeg = personJpeg({ shirt: [Math.floor(random() * 255), 40, 40] }).bytes;
  return {
    id: `e${i}`,
    identity: String(i % 7).padStart(4, '0'),
    camera: i % 3 === 0 ? null : (i % 6) + 1,
    fileName: `${String(i % 7).padStart(4, '0')}_c1s1_00045${i}_01.jpg`,
    cameraName: null,
    thumbnail: new Blob([jpeg as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }),
    embeddings,
    modelId,
    addedAt: 1_700_000_000_000 + i,
  };
}

export async function bytesOf(blob: Blob): Promise<number[]> {
  return [...new Uint8Array(await blob.arrayBuffer())];
}
