// The gallery export file: one binary file holding every entry, read back with every field checked.
//
// Layout (integers little-endian):
//   bytes 0–7    "AREIDGAL"                                   signature
//   bytes 8–11   u32 version (2; version 1 files are still read)
//   bytes 12–15  u32 H: length of the header
//   bytes 16–47  SHA-256 of everything after it (version 2 only; version 1 has no such field)
//   H bytes      UTF-8 JSON header (see FileHeader), space-padded to a multiple of 4
//   N·S·dim·4    float32 embeddings: entry by entry, the header's S stages in order (exits 1…n, fused)
//   Σ sizes      the thumbnails' bytes, entry by entry
//
// Binary rather than JSON with base64: 25% smaller, and reading never builds one giant string (V8 caps
// strings at ~512 MiB, which a base64 JSON of ~50k entries would reach). The header stays readable
// (`tail -c +49 file | head -c 4000`). The checksum covers the header and the payload, so any changed, lost
// or added byte after the preamble is caught, including damage the per-value checks cannot see (a low
// mantissa bit of an embedding, a byte inside a thumbnail's scan data). SHA-256 because WebCrypto
// (`crypto.subtle`) has it in every browser (in a secure context, which the app needs anyway for its
// service worker and the camera) and in Node, with no code of ours.
import { sniffImageType } from '../input/sniff';
import { StageLayout } from '../engine/stages';
import { embeddingProblem, embeddingStages, entryFields, entryProblem, fieldsProblem, type EntryFields } from './entryCheck';
import { GalleryFileError } from './errors';
import type { GalleryEntry } from './types';
import type { StageKey } from '../engine/types';

export const GALLERY_FILE_SIGNATURE = 'AREIDGAL';
export const GALLERY_FILE_VERSION = 2;
export const GALLERY_FILE_EXTENSION = '.reidgallery';
/** Versions importGallery reads, with the length of their preamble (signature, version, header length, and
 * from version 2 the checksum). */
const PREAMBLE: Readonly<Record<number, number>> = { 1: 16, 2: 48 };
const CHECKSUM_AT = 16;
const CHECKSUM_BYTES = 32;

interface FileHeader {
  format: 'anytime-reid-gallery';
  exportedAt: number;
  /** Distinct model ids of the entries (usually one); entries refer to them by index. */
  modelIds: string[];
  /** Length of every embedding (0 only when there are no entries). */
  dim: number;
  /** Order of the embeddings of each entry in the float32 block. */
  stages: StageKey[];
  entries: FileEntry[];
}

/** An entry's EntryFields as they are, plus where its model id and thumbnail are. */
interface FileEntry extends EntryFields {
  model: number;
  thumbnailType: string;
  thumbnailBytes: number;
}

export interface ImportedGallery {
  entries: GalleryEntry[];
  exportedAt: number;
  /** Distinct model ids found in the file. */
  modelIds: string[];
  /** How many entries were embedded by a model other than `expectedModelId` (0 when none was given):
   * the UI warns and re-embeds them from their thumbnails. Their embeddings may even differ in length. */
  foreignModelEntries: number;
}

/** `anytime-reid-gallery-2025-11-21.reidgallery` (local date). */
export function exportFileName(now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `anytime-reid-gallery-${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}${GALLERY_FILE_EXTENSION}`;
}

/** The whole gallery as one file. Rejects with a GalleryFileError ('invalid') if an entry is malformed or
 * embedding lengths differ, so a file that could not be imported again is never written. */
export async function exportGallery(entries: readonly GalleryEntry[], exportedAt = Date.now()): Promise<Blob> {
  // One stage list for the whole file: the first entry's (an empty gallery: a one-exit list, never read).
  const stages = (entries.length > 0 ? embeddingStages(entries[0].embeddings) : null) ?? new StageLayout(1).keys;
  const dim = entries.length > 0 ? (entries[0].embeddings[stages[0]]?.length ?? 0) : 0;
  const modelIds: string[] = [];
  const fileEntries: FileEntry[] = [];
  const seen = new Set<string>();
  const blobs: Blob[] = [];
  entries.forEach((e, i) => {
    const problem = entryProblem(e, dim);
    if (problem) throw new GalleryFileError('invalid', `Cannot export: entry ${i} (id "${String(e.id)}") ${problem}.`);
    if (seen.has(e.id)) throw new GalleryFileError('invalid', `Cannot export: id "${e.id}" appears twice.`);
    if (embeddingStages(e.embeddings)?.join(',') !== stages.join(',')) {
      throw new GalleryFileError('invalid', `Cannot export: entry ${i} (id "${e.id}") has the stages of another model (${Object.keys(e.embeddings).join(', ')}, not ${stages.join(', ')}); wait until the gallery is re-embedded with the current model.`);
    }
    if (e.thumbnail === null) throw new GalleryFileError('invalid', `Cannot export: entry ${i} (id "${e.id}") has no thumbnail yet (it comes from the hub and was not fetched).`);
    seen.add(e.id);
    let model = modelIds.indexOf(e.modelId);
    if (model < 0) model = modelIds.push(e.modelId) - 1;
    fileEntries.push({ ...entryFields(e), model, thumbnailType: e.thumbnail.type || 'image/jpeg', thumbnailBytes: e.thumbnail.size });
    blobs.push(e.thumbnail);
  });
  const header: FileHeader = { format: 'anytime-reid-gallery', exportedAt, modelIds, dim, stages: [...stages], entries: fileEntries };
  const json = JSON.stringify(header);
  const headerBytes = new TextEncoder().encode(json + ' '.repeat((4 - (new TextEncoder().encode(json).length % 4)) % 4));
  const thumbnails = await Promise.all(blobs.map(async (b) => new Uint8Array(await b.arrayBuffer())));

  const preamble = PREAMBLE[GALLERY_FILE_VERSION];
  const floatsAt = preamble + headerBytes.length;
  const thumbsAt = floatsAt + entries.length * stages.length * dim * 4;
  const bytes = new Uint8Array(thumbnails.reduce((n, t) => n + t.length, thumbsAt));
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(GALLERY_FILE_SIGNATURE), 0);
  view.setUint32(8, GALLERY_FILE_VERSION, true);
  view.setUint32(12, headerBytes.length, true);
  bytes.set(headerBytes, preamble);
  entries.forEach((e, i) => {
    stages.forEach((key, s) => {
      const base = floatsAt + (i * stages.length + s) * dim * 4;
      e.embeddings[key].forEach((x, j) => view.setFloat32(base + j * 4, x, true));
    });
  });
  let at = thumbsAt;
  for (const t of thumbnails) {
    bytes.set(t, at);
    at += t.length;
  }
  bytes.set(await sha256(bytes.subarray(CHECKSUM_AT + CHECKSUM_BYTES)), CHECKSUM_AT);
  return new Blob([bytes], { type: 'application/octet-stream' });
}

/** Reads and checks a gallery file. Rejects with a GalleryFileError whose message names the file and
 * what is wrong: then nothing is imported, the file is refused as a whole. A model mismatch is not an
 * error: see foreignModelEntries. */
export async function importGallery(file: Blob, options: { expectedModelId?: string } = {}): Promise<ImportedGallery> {
  const name = file instanceof File && file.name ? `"${file.name}"` : 'The file';
  const bytes = new Uint8Array(await file.arrayBuffer());
  const fail = (kind: GalleryFileError['kind'], what: string): never => {
    throw new GalleryFileError(kind, `${name} ${what}`);
  };

  const signature = new TextEncoder().encode(GALLERY_FILE_SIGNATURE);
  const head = bytes.subarray(0, signature.length);
  if (bytes.length === 0) fail('not-gallery', 'is empty: it is not an anytime-reid gallery file.');
  if (!head.every((b, i) => b === signature[i])) fail('not-gallery', `is not an anytime-reid gallery file (it does not start with ${GALLERY_FILE_SIGNATURE}).`);
  if (bytes.length < 12) fail('truncated', `is truncated: it ends after ${bytes.length} bytes, inside the file preamble.`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  const preamble = PREAMBLE[version];
  if (preamble === undefined) {
    fail('unsupported-version', `is a version ${version} gallery file; this app reads versions ${Object.keys(PREAMBLE).join(' and ')}.`);
  }
  if (bytes.length < preamble) fail('truncated', `is truncated: it ends after ${bytes.length} bytes, inside the file preamble.`);
  const headerBytes = dv.getUint32(12, true);
  if (bytes.length < preamble + headerBytes) fail('truncated', `is truncated: its header needs ${preamble + headerBytes} bytes but the file has ${bytes.length}.`);

  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(preamble, preamble + headerBytes)));
  } catch {
    parsed = undefined;
  }
  // The length the header describes, when it can be read: a wrong length is worth saying as such.
  const floatsAt = preamble + headerBytes;
  const described = describedLength(parsed, floatsAt);
  if (described !== null && bytes.length < described.total) {
    fail('truncated', `is truncated: its header describes ${described.entries} entries in ${described.total} bytes but the file has ${bytes.length}.`);
  }
  if (described !== null && bytes.length > described.total) {
    fail('invalid', `has ${bytes.length - described.total} unexpected bytes after its last entry: the file is damaged.`);
  }
  if (version >= 2) {
    const stored = bytes.subarray(CHECKSUM_AT, CHECKSUM_AT + CHECKSUM_BYTES);
    const actual = await sha256(bytes.subarray(CHECKSUM_AT + CHECKSUM_BYTES));
    if (!actual.every((b, i) => b === stored[i])) {
      fail('damaged', 'is damaged: its contents do not match the SHA-256 checksum written when it was exported (bytes were changed after the export).');
    }
  }
  if (parsed === undefined) return fail('invalid', 'has a damaged header (not valid UTF-8 JSON).');
  const header = checkHeader(parsed, (what) => fail('invalid', what));
  if (described === null) return fail('invalid', 'has a damaged header.');

  const dim = header.dim;
  const entries: GalleryEntry[] = [];
  let foreignModelEntries = 0;
  let thumbAt = described.thumbsAt;
  header.entries.forEach((fe, i) => {
    const label = `entry ${i} (id "${fe.id}")`;
    const embeddings = {} as Record<StageKey, Float32Array>;
    header.stages.forEach((key, s) => {
      const base = floatsAt + (i * header.stages.length + s) * dim * 4;
      const v = new Float32Array(dim);
      for (let j = 0; j < dim; j++) v[j] = dv.getFloat32(base + j * 4, true);
      const problem = embeddingProblem(v, dim);
      if (problem) fail('invalid', `has a bad embedding: ${label}, stage ${key} ${problem}.`);
      embeddings[key] = v;
    });
    const thumb = bytes.slice(thumbAt, thumbAt + fe.thumbnailBytes);
    thumbAt += fe.thumbnailBytes;
    const problem = thumbnailProblem(thumb, fe.thumbnailType);
    if (problem) fail('invalid', `has a damaged thumbnail: ${label} ${problem}.`);
    const modelId = header.modelIds[fe.model];
    if (options.expectedModelId !== undefined && modelId !== options.expectedModelId) foreignModelEntries++;
    entries.push({ ...entryFields(fe), thumbnail: new Blob([thumb], { type: fe.thumbnailType }), embeddings, modelId });
  });
  return { entries, exportedAt: header.exportedAt, modelIds: header.modelIds, foreignModelEntries };
}

async function sha256(data: Uint8Array): Promise<Uint8Array> {
  if (globalThis.crypto?.subtle === undefined) {
    throw new GalleryFileError('unavailable', 'Gallery files cannot be checked or written here: this page is not in a secure context (https or localhost), so the browser offers no SHA-256 (crypto.subtle).');
  }
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
}

/** Where the thumbnails start and where the file ends, by a header's counts and sizes; null when the header
 * is not shaped enough to say. */
function describedLength(header: unknown, floatsAt: number): { entries: number; thumbsAt: number; total: number } | null {
  if (typeof header !== 'object' || header === null) return null;
  const { dim, entries, stages } = header as { dim?: unknown; entries?: unknown; stages?: unknown };
  if (!Number.isInteger(dim) || (dim as number) < 0 || !Array.isArray(entries) || (dim === 0 && entries.length > 0) || !Array.isArray(stages)) return null;
  const sizes = entries.map((e: unknown) => (typeof e === 'object' && e !== null ? (e as { thumbnailBytes?: unknown }).thumbnailBytes : undefined));
  if (!sizes.every((b) => Number.isInteger(b) && (b as number) > 0)) return null;
  const thumbsAt = floatsAt + entries.length * stages.length * (dim as number) * 4;
  return { entries: entries.length, thumbsAt, total: (sizes as number[]).reduce((sum, b) => sum + b, thumbsAt) };
}

/** What is wrong with a thumbnail's bytes, or null. Short of decoding: the format its first bytes say must
 * be the declared one, and a JPEG must end with its end-of-image marker and a PNG with its IEND chunk, so a
 * thumbnail cut short or overwritten at either end is caught (the checksum catches the rest). */
function thumbnailProblem(b: Uint8Array, type: string): string | null {
  const sniffed = sniffImageType(b);
  if (sniffed === null || sniffed.mime !== type) return `does not hold valid ${type} data`;
  const endsWith = (tail: readonly number[]) => tail.every((x, i) => b[b.length - tail.length + i] === x);
  if (sniffed.format === 'jpeg' && !endsWith([0xff, 0xd9])) return 'is a JPEG without its end-of-image marker (cut short or overwritten)';
  if (sniffed.format === 'png' && !endsWith([0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82])) return 'is a PNG without its IEND chunk (cut short or overwritten)';
  return null;
}

function checkHeader(value: unknown, fail: (what: string) => never): FileHeader {
  if (typeof value !== 'object' || value === null) return fail('has a damaged header (not an object).');
  const h = value as Record<string, unknown>;
  if (h.format !== 'anytime-reid-gallery') fail(`has a header of format ${JSON.stringify(h.format)}, expected "anytime-reid-gallery".`);
  if (typeof h.exportedAt !== 'number' || !Number.isFinite(h.exportedAt)) fail('has no valid export time in its header.');
  if (!Array.isArray(h.modelIds) || !h.modelIds.every((m) => typeof m === 'string' && m !== '')) fail('has no valid model ids in its header.');
  const modelIds = h.modelIds as string[];
  const layout = Array.isArray(h.stages) && h.stages.every((k) => typeof k === 'string') ? StageLayout.ofKeys(h.stages as string[]) : null;
  if (!layout || (h.stages as string[]).join(',') !== layout.keys.join(',')) {
    fail(`lists stages ${JSON.stringify(h.stages)}, expected each exit in order (1, 2, …) and then "fused".`);
  }
  if (!Array.isArray(h.entries)) return fail('has no entry list in its header.');
  const dim = h.dim;
  if (!(Number.isInteger(dim) && (dim as number) >= 0 && (dim as number) <= 65536) || (dim === 0 && h.entries.length > 0)) {
    fail(`has an invalid embedding length ${JSON.stringify(dim)} in its header.`);
  }
  const seen = new Set<string>();
  h.entries.forEach((raw: unknown, i: number) => {
    const e = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const label = typeof e.id === 'string' && e.id !== '' ? `entry ${i} (id "${e.id}")` : `entry ${i}`;
    const bad = (what: string) => fail(`has a bad header entry: ${label} ${what}.`);
    if (typeof e.id !== 'string' || e.id === '') bad('has no id');
    if (seen.has(e.id as string)) fail(`has a duplicate id: "${String(e.id)}" appears more than once.`);
    seen.add(e.id as string);
    const problem = fieldsProblem(e);
    if (problem) bad(problem);
    if (!(Number.isInteger(e.model) && (e.model as number) >= 0 && (e.model as number) < modelIds.length)) bad(`refers to model ${JSON.stringify(e.model)}, which the header does not list`);
    if (typeof e.thumbnailType !== 'string' || !e.thumbnailType.startsWith('image/')) bad('has no image type for its thumbnail');
    if (!(Number.isInteger(e.thumbnailBytes) && (e.thumbnailBytes as number) > 0)) bad(`has an invalid thumbnail size ${JSON.stringify(e.thumbnailBytes)}`);
  });
  return value as FileHeader;
}
