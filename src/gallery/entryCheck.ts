// Shape checks for gallery entries: what comes out of IndexedDB or an import file is not trusted.
import { StageLayout, type StageKey } from '../engine/stages';
import type { GalleryEntry } from './types';

// Every embedding the app stores went through l2Normalise (engine/vectors.ts), which scales in double
// precision and rounds each value to float32 once: a relative error of at most 2^-24 per value, so the norm
// is 1 within ~6e-8 whatever the backend or the model's precision (a zero vector stays zero). 1e-5 leaves a
// 100-fold margin and still catches damage that moves a typical value (≈ 1/√128) by more than ~1e-4.
const NORM_TOLERANCE = 1e-5;

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

/** The fields of an entry that travel as they are, in IndexedDB and in the export file's header. */
export type EntryFields = Omit<GalleryEntry, 'thumbnail' | 'embeddings' | 'modelId'>;

/** What is wrong with each field's value, or null. The type demands a check for every field of
 * EntryFields, so a field added to GalleryEntry is checked (and exported and imported) once it is listed here. */
const FIELD_PROBLEMS: { [K in keyof EntryFields]-?: (v: unknown) => string | null } = {
  id: (v) => (typeof v === 'string' && v !== '' ? null : 'has no id'),
  identity: (v) => (typeof v === 'string' && v.trim() !== '' ? null : 'has no identity'),
  camera: (v) => (v === null || (Number.isInteger(v) && (v as number) >= 0) ? null : 'has an invalid camera'),
  fileName: (v) => (typeof v === 'string' ? null : 'has no file name'),
  // Absent in entries stored or exported before the hub: read as null.
  cameraName: (v) => (v === undefined || v === null || (typeof v === 'string' && v.trim() !== '') ? null : 'has an invalid camera name'),
  addedAt: (v) => (typeof v === 'number' && Number.isFinite(v) ? null : 'has no valid addedAt time'),
};

export const ENTRY_FIELDS = Object.keys(FIELD_PROBLEMS) as (keyof EntryFields)[];

/** What is wrong with the EntryFields of a record, or null (the first problem, in ENTRY_FIELDS order). */
export function fieldsProblem(e: Record<string, unknown>): string | null {
  for (const field of ENTRY_FIELDS) {
    const problem = FIELD_PROBLEMS[field](e[field]);
    if (problem) return problem;
  }
  return null;
}

/** Just the EntryFields of an entry (or of a record that passed fieldsProblem), a missing camera name as null. */
export function entryFields(e: EntryFields): EntryFields {
  const fields = Object.fromEntries(ENTRY_FIELDS.map((field) => [field, e[field]])) as unknown as EntryFields;
  return { ...fields, cameraName: fields.cameraName ?? null };
}

/** The stage keys of an entry's embeddings in step order, or null when they are not one model layout's
 * (each exit 1…n, then fused: src/engine/stages.ts). */
export function embeddingStages(embeddings: object): readonly StageKey[] | null {
  return StageLayout.ofKeys(Object.keys(embeddings))?.keys ?? null;
}

/** What is wrong with a record that should be a GalleryEntry, or null. Its embeddings are one per stage of
 * the model that made it (each exit, then fused), all of the same length (`dim` when given). */
export function entryProblem(value: unknown, dim?: number): string | null {
  if (typeof value !== 'object' || value === null) return 'is not an object';
  const e = value as Record<string, unknown>;
  const problem = fieldsProblem(e);
  if (problem) return problem;
  if (typeof e.modelId !== 'string' || e.modelId === '') return 'has no model id';
  if (e.thumbnail !== null && !(e.thumbnail instanceof Blob)) return 'has no thumbnail Blob';
  if (typeof e.embeddings !== 'object' || e.embeddings === null) return 'has no embeddings';
  const embeddings = e.embeddings as Record<string, unknown>;
  const stages = embeddingStages(embeddings);
  if (!stages) return `has embeddings for stages ${JSON.stringify(Object.keys(embeddings))}, not one per exit (1…n) and fused`;
  let expected = dim;
  for (const key of stages) {
    const problem = embeddingProblem(embeddings[key], expected);
    if (problem) return `embedding ${key} ${problem}`;
    expected ??= (embeddings[key] as Float32Array).length;
  }
  return null;
}
