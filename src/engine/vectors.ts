// Small vector helpers on the JS side (128-d embeddings: cheaper here than a backend round trip).

/** A copy of `v` scaled to unit L2 norm (a zero vector stays zero). */
export function l2Normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  const out = new Float32Array(v.length);
  if (sum === 0) return out;
  const inv = 1 / Math.sqrt(sum);
  for (let i = 0; i < v.length; i++) out[i] = v[i] * inv;
  return out;
}

/** Euclidean distance between two vectors of the same length. */
export function euclideanDistance(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    sum += d * d;
  }
  return Math.sqrt(sum);
}

/** Distance between two L2-normalised vectors from their cosine: ‖a−b‖ = √(2 − 2·cos), clamped at 0
 * against rounding. */
export function distanceFromCosine(cos: number): number {
  return Math.sqrt(Math.max(0, 2 - 2 * cos));
}
