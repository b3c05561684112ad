// Shape checks for gallery entries: what comes out of IndexedDB or an import file is not trusted.
import { STAGE_KEYS } from '../engine/stages';

// The stage vocabulary is defined once, in src/engine/stages.ts; re-exported for the gallery's modules.
export { STAGE_KEYS };

// L2-normalised float32 vectors have norm 1 up to rounding; the engine maps a zero vector to zero.
const NORM_TOLERANCE = 1e-3;

/** What is wrong with one embedding, or null. `dim`, when given, is the length every embedding must have. */
export function embeddingProblem(v: unknown, dim?: number): string | null {
  if (!(v instanceof Float32Array)) return 'is not a Float32Array';
  if (v.length === 0) return 'is empty';
  if (dim !== undefined && v.length !== dim) return `has ${v.length} values, expected ${dim}`;
  let sum = 0;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) return `holds ${v[i]} at index ${i}`;
    sum += v[i] * v[i];
  }
  const norm = Math.sqrt(sum);
  if (norm !== 0 && Math.abs(norm - 1) > NORM_TOLERANCE) return `is not L2-normalised (norm ${norm.toFixed(4)})`;
  return null;
}

/** What is wrong with a record that should be a GalleryEntry, or null. Embeddings must all have the same
 * length (`dim` when given). */
export function entryProblem(value: unknown, dim?: number): string | null {
  if (typeof value !== 'object' || value === null) return 'is not an object';
  const e = value as Record<string, unknown>;
  if (typeof e.id !== 'string' || e.id === '') return 'has no id';
  if (typeof e.identity !== 'string' || e.identity.trim() === '') return 'has no identity';
  if (e.camera !== null && !(Number.isInteger(e.camera) && (e.camera as number) >= 0)) return 'has an invalid camera';
  if (typeof e.fileName !== 'string') return 'has no file name';
  if (typeof e.modelId !== 'string' || e.modelId === '') return 'has no model id';
  if (typeof e.addedAt !== 'number' || !Number.isFinite(e.addedAt)) return 'has no valid addedAt time';
  if (!(e.thumbnail instanceof Blob)) return 'has no thumbnail Blob';
  if (typeof e.embeddings !== 'object' || e.embeddings === null) return 'has no embeddings';
  const embeddings = e.embeddings as Record<string, unknown>;
  let expected = dim;
  for (const key of STAGE_KEYS) {
    const problem = embeddingProblem(embeddings[key], expected);
    if (problem) return `embedding ${key} ${problem}`;
    expected ??= (embeddings[key] as Float32Array).length;
  }
  return null;
}
