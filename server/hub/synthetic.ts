// Synthetic hub events for the hub's tests and bench/hub.ts: random unit vectors in place of embeddings,
// a few bytes with JPEG's magic in place of a photo (the hub checks the magic and the size, never decodes).
import { bytesToBase64, encodeEmbedding, type HubEvent } from '../../src/hub/protocol.ts';

/** A seeded generator (mulberry32): reruns make the same data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomUnitVector(dim: number, random: () => number): Float32Array {
  const v = new Float32Array(dim);
  let sum = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = random() * 2 - 1;
    sum += v[i] * v[i];
  }
  const inv = 1 / Math.sqrt(sum);
  for (let i = 0; i < dim; i++) v[i] *= inv;
  return v;
}

/** `bytes` bytes that start as a JPEG does (SOI and a marker) and end with EOI. */
export function fakeJpeg(bytes: number, random: () => number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = (random() * 256) | 0;
  out.set([0xff, 0xd8, 0xff, 0xe0], 0);
  out.set([0xff, 0xd9], bytes - 2);
  return out;
}

export const STAGES = ['1', '2', '3', '4', 'fused'] as const;

export interface SyntheticAddOptions {
  id: string;
  device?: string;
  identity?: string;
  modelId?: string;
  dim?: number;
  at?: number;
  /** Encoded embeddings to use instead of fresh random ones (bench: a pool, to keep generation cheap). */
  embeddings?: Record<string, string>;
  thumbnail?: string;
  random?: () => number;
}

export function syntheticAdd(o: SyntheticAddOptions): Extract<HubEvent, { kind: 'add' }> {
  const random = o.random ?? Math.random;
  const dim = o.dim ?? 128;
  const device = o.device ?? 'device-a';
  return {
    kind: 'add',
    id: `add-${o.id}`,
    device,
    at: o.at ?? 1_700_000_000_000,
    entry: {
      id: o.id,
      identity: o.identity ?? `person ${o.id}`,
      camera: 1,
      cameraName: 'Front door',
      fileName: `${o.id}.jpg`,
      modelId: o.modelId ?? 'dare-osnet',
      createdAt: o.at ?? 1_700_000_000_000,
      dim,
      embeddings: o.embeddings ?? Object.fromEntries(STAGES.map((s) => [s, encodeEmbedding(randomUnitVector(dim, random))])),
      thumbnail: o.thumbnail ?? bytesToBase64(fakeJpeg(200, random)),
    },
  };
}
