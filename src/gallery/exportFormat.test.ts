import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { personJpeg } from '../../e2e/fixtures/makeImages';
import { GalleryFileError } from './errors';
import { exportFileName, exportGallery, GALLERY_FILE_EXTENSION, importGallery, type ImportedGallery } from './exportFormat';
import { StageLayout } from '../engine/stages';
import { bytesOf, makeEntry } from './node/testEntries';
import type { GalleryEntry } from './types';

const MODEL = '/models/dare-mnv2/model.json#abc123';
const OTHER = '/models/dare-mnv2/model.json#old999';

const fileOf = (bytes: Uint8Array, name = 'my-gallery.reidgallery') => new File([bytes as Uint8Array<ArrayBuffer>], name);
const bytesOfBlob = async (b: Blob) => new Uint8Array(await b.arrayBuffer());

async function refusal(bytes: Uint8Array, name?: string): Promise<GalleryFileError> {
  const e = await importGallery(fileOf(bytes, name)).then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(GalleryFileError);
  return e as GalleryFileError;
}

/** The header as the tests tamper with it: any field may be given any value. */
interface LooseHeader {
  [field: string]: unknown;
  entries: Record<string, unknown>[];
}

// Version 2 preamble: signature, version, header length, then the SHA-256 of everything after it.
const PREAMBLE = 48;

/** A version 2 file whose checksum is written afresh for its bytes: what a tampered file would need to
 * get past the checksum, to reach the checks behind it. */
async function reseal(bytes: Uint8Array): Promise<Uint8Array> {
  const out = bytes.slice();
  out.set(new Uint8Array(await crypto.subtle.digest('SHA-256', out.subarray(PREAMBLE))), 16);
  return out;
}

/** The same gallery in the version 1 layout: version 2 without the checksum field. */
function asVersion1(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length - 32);
  out.set(bytes.subarray(0, 16));
  new DataView(out.buffer).setUint32(8, 1, true);
  out.set(bytes.subarray(PREAMBLE), 16);
  return out;
}

/** The file with its JSON header replaced by `mutate(header)` (preamble length updated, resealed). */
async function rewriteHeader(bytes: Uint8Array, mutate: (h: LooseHeader) => void): Promise<Uint8Array> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const length = dv.getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(PREAMBLE, PREAMBLE + length)));
  mutate(header);
  let json = JSON.stringify(header);
  json += ' '.repeat((4 - (json.length % 4)) % 4);
  const encoded = new TextEncoder().encode(json);
  const out = new Uint8Array(PREAMBLE + encoded.length + bytes.length - PREAMBLE - length);
  out.set(bytes.subarray(0, PREAMBLE));
  new DataView(out.buffer).setUint32(12, encoded.length, true);
  out.set(encoded, PREAMBLE);
  out.set(bytes.subarray(PREAMBLE + length), PREAMBLE + encoded.length);
  return reseal(out);
}

/** Byte offset of embedding value j of entry i, stage index s (0–4), in a version 2 file. */
function floatAt(bytes: Uint8Array, i: number, s: number, j: number, dim = 128): number {
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
  return PREAMBLE + headerLength + ((i * 5 + s) * dim + j) * 4;
}

const exported = async (entries: GalleryEntry[], exportedAt?: number) => bytesOfBlob(await exportGallery(entries, exportedAt));

const threeEntries = () => [makeEntry(0), makeEntry(1, { modelId: OTHER }), makeEntry(2)];

describe('exportGallery / importGallery', () => {
  it('round-trips every field, embeddings bit for bit and thumbnails byte for byte', async () => {
    const entries = threeEntries();
    const imported = await importGallery(fileOf(await exported(entries, 1_732_000_000_000)), { expectedModelId: MODEL });
    expect(imported.exportedAt).toBe(1_732_000_000_000);
    expect(imported.modelIds).toEqual([MODEL, OTHER]);
    expect(imported.foreignModelEntries).toBe(1);
    expect(imported.entries).toHaveLength(3);
    for (const [i, back] of imported.entries.entries()) {
      const original = entries[i];
      expect({ ...back, thumbnail: null, embeddings: null }).toEqual({ ...original, thumbnail: null, embeddings: null });
      for (const key of ['1', '2', '3', '4', 'fused'] as const) {
        expect(back.embeddings[key]).toBeInstanceOf(Float32Array);
        expect(new Uint8Array(back.embeddings[key].buffer)).toEqual(new Uint8Array(original.embeddings[key].slice().buffer));
      }
      expect(back.thumbnail!.type).toBe('image/jpeg');
      expect(await bytesOf(back.thumbnail!)).toEqual(await bytesOf(original.thumbnail!));
    }
  });

  it('round-trips an empty gallery and reports no model mismatch without an expected model', async () => {
    const imported = await importGallery(await exportGallery([], 5));
    expect(imported).toEqual<ImportedGallery>({ entries: [], exportedAt: 5, modelIds: [], foreignModelEntries: 0 });
    const some = await importGallery(await exportGallery(threeEntries()));
    expect(some.foreignModelEntries).toBe(0);
  });

  it('adds under 250 bytes per entry beyond the raw float32 embeddings and the thumbnail', async () => {
    const entries = Array.from({ length: 50 }, (_, i) => makeEntry(i));
    const size = (await exportGallery(entries)).size;
    const thumbnails = entries.reduce((n, e) => n + e.thumbnail!.size, 0);
    const perEntryOverhead = (size - thumbnails - 50 * 5 * 128 * 4) / 50;
    expect(perEntryOverhead).toBeLessThan(250);
  });

  it('round-trips the galleries of a model with another number of exits (contract format 2: three)', async () => {
    const layout = new StageLayout(3);
    const entries = [0, 1, 2].map((i) => makeEntry(i, { layout }));
    const imported = await importGallery(fileOf(await bytesOfBlob(await exportGallery(entries))));
    expect(imported.entries).toHaveLength(3);
    imported.entries.forEach((back, i) => {
      expect(Object.keys(back.embeddings)).toEqual(['1', '2', '3', 'fused']);
      for (const key of layout.keys) expect(back.embeddings[key]).toEqual(entries[i].embeddings[key]);
    });
  });

  it('names the export file with the date and the extension', () => {
    expect(exportFileName(new Date(2025, 10, 21, 23, 59))).toBe(`anytime-reid-gallery-2025-11-21${GALLERY_FILE_EXTENSION}`);
  });

  it('refuses to export malformed entries, so every written file can be imported', async () => {
    const mixed = [makeEntry(0), makeEntry(1, { dim: 64 })];
    await expect(exportGallery(mixed)).rejects.toThrow('Cannot export: entry 1 (id "e1") embedding 1 has 64 values, expected 128.');
    await expect(exportGallery([makeEntry(0), makeEntry(0)])).rejects.toThrow('Cannot export: id "e0" appears twice.');
    // Entries of two models with different exits (one not re-embedded yet) do not share one file.
    await expect(exportGallery([makeEntry(0), makeEntry(1, { layout: new StageLayout(3) })])).rejects.toThrow(
      'Cannot export: entry 1 (id "e1") has the stages of another model (1, 2, 3, fused, not 1, 2, 3, 4, fused); wait until the gallery is re-embedded with the current model.',
    );
    const gap = makeEntry(2);
    delete (gap.embeddings as Partial<Record<string, Float32Array>>)['3'];
    await expect(exportGallery([gap])).rejects.toThrow('Cannot export: entry 0 (id "e2") has embeddings for stages ["1","2","4","fused"], not one per exit (1…n) and fused.');
  });
});

describe('importGallery refuses, naming the file and the problem', () => {
  it('other files', async () => {
    let e = await refusal(personJpeg().bytes, 'photo.jpg');
    expect(e.kind).toBe('not-gallery');
    expect(e.message).toBe('"photo.jpg" is not an anytime-reid gallery file (it does not start with AREIDGAL).');
    e = await refusal(new TextEncoder().encode('{"format":"anytime-reid-gallery","version":1}'), 'gallery.json');
    expect(e.kind).toBe('not-gallery');
    e = await refusal(new Uint8Array(0));
    expect(e.message).toBe('"my-gallery.reidgallery" is empty: it is not an anytime-reid gallery file.');
  });

  it('another version', async () => {
    const bytes = await exported(threeEntries());
    new DataView(bytes.buffer).setUint32(8, 3, true);
    const e = await refusal(bytes);
    expect(e.kind).toBe('unsupported-version');
    expect(e.message).toBe('"my-gallery.reidgallery" is a version 3 gallery file; this app reads versions 1 and 2.');
  });

  it('a truncated file, wherever it was cut', async () => {
    const bytes = await exported(threeEntries());
    const headerEnd = floatAt(bytes, 0, 0, 0);
    for (const cut of [5, 12, 30, 100, headerEnd - 1, headerEnd + 10, floatAt(bytes, 2, 4, 127), bytes.length - 1]) {
      const e = await refusal(bytes.slice(0, cut));
      expect(e.kind, `cut at ${cut}`).toBe('truncated');
      expect(e.message, `cut at ${cut}`).toMatch(/^"my-gallery.reidgallery" is truncated: .+\.$/);
    }
    expect((await refusal(bytes.slice(0, bytes.length - 1))).message).toBe(
      `"my-gallery.reidgallery" is truncated: its header describes 3 entries in ${bytes.length} bytes but the file has ${bytes.length - 1}.`,
    );
  });

  it('extra bytes after the last entry', async () => {
    const bytes = await exported(threeEntries());
    const longer = new Uint8Array(bytes.length + 7);
    longer.set(bytes);
    const e = await refusal(longer);
    expect(e.kind).toBe('invalid');
    expect(e.message).toBe('"my-gallery.reidgallery" has 7 unexpected bytes after its last entry: the file is damaged.');
  });

  it('a header whose embedding length does not match the data', async () => {
    const bytes = await exported(threeEntries());
    expect((await refusal(await rewriteHeader(bytes, (h) => (h.dim = 64)))).message).toMatch(/unexpected bytes after its last entry/);
    expect((await refusal(await rewriteHeader(bytes, (h) => (h.dim = 256)))).kind).toBe('truncated');
    expect((await refusal(await rewriteHeader(bytes, (h) => (h.dim = 0)))).message).toBe('"my-gallery.reidgallery" has an invalid embedding length 0 in its header.');
    expect((await refusal(await rewriteHeader(bytes, (h) => (h.dim = 1.5)))).message).toBe('"my-gallery.reidgallery" has an invalid embedding length 1.5 in its header.');
  });

  it('NaN, infinite or unnormalised embeddings, even with a checksum that matches', async () => {
    const bytes = await exported(threeEntries());
    const nan = bytes.slice();
    new DataView(nan.buffer).setFloat32(floatAt(nan, 1, 2, 7), NaN, true);
    let e = await refusal(await reseal(nan));
    expect(e.kind).toBe('invalid');
    expect(e.message).toBe('"my-gallery.reidgallery" has a bad embedding: entry 1 (id "e1"), stage 3 holds NaN at index 7.');
    const inf = bytes.slice();
    new DataView(inf.buffer).setFloat32(floatAt(inf, 2, 4, 0), -Infinity, true);
    expect((await refusal(await reseal(inf))).message).toBe('"my-gallery.reidgallery" has a bad embedding: entry 2 (id "e2"), stage fused holds -Infinity at index 0.');
    const big = bytes.slice();
    new DataView(big.buffer).setFloat32(floatAt(big, 0, 0, 3), 5, true);
    e = await refusal(await reseal(big));
    expect(e.message).toMatch(/^"my-gallery.reidgallery" has a bad embedding: entry 0 \(id "e0"\), stage 1 is not L2-normalised \(norm 5\.\d{4}\)\.$/);
  });

  it('duplicate ids and bad header fields', async () => {
    const bytes = await exported(threeEntries());
    const cases: [(h: LooseHeader) => void, string][] = [
      [(h) => (h.entries[2].id = 'e0'), 'has a duplicate id: "e0" appears more than once.'],
      [(h) => (h.entries[1].id = ''), 'has a bad header entry: entry 1 has no id.'],
      [(h) => (h.entries[1].identity = ' '), 'has a bad header entry: entry 1 (id "e1") has no identity.'],
      [(h) => (h.entries[0].camera = -1), 'has a bad header entry: entry 0 (id "e0") has an invalid camera.'],
      [(h) => delete h.entries[0].fileName, 'has a bad header entry: entry 0 (id "e0") has no file name.'],
      [(h) => (h.entries[0].addedAt = null), 'has a bad header entry: entry 0 (id "e0") has no valid addedAt time.'],
      [(h) => (h.entries[2].model = 2), 'has a bad header entry: entry 2 (id "e2") refers to model 2, which the header does not list.'],
      [(h) => (h.entries[2].thumbnailType = 'text/plain'), 'has a bad header entry: entry 2 (id "e2") has no image type for its thumbnail.'],
      [(h) => (h.entries[2].thumbnailBytes = 0), 'has a bad header entry: entry 2 (id "e2") has an invalid thumbnail size 0.'],
      [(h) => (h.format = 'something-else'), 'has a header of format "something-else", expected "anytime-reid-gallery".'],
      [(h) => (h.stages = ['fused', '1', '2', '3', '4']), 'lists stages ["fused","1","2","3","4"], expected each exit in order (1, 2, …) and then "fused".'],
      [(h) => (h.stages = ['1', '2', '3', '5', 'fused']), 'lists stages ["1","2","3","5","fused"], expected each exit in order (1, 2, …) and then "fused".'],
      [(h) => (h.modelIds = [42]), 'has no valid model ids in its header.'],
      [(h) => (h.exportedAt = 'yesterday'), 'has no valid export time in its header.'],
      [(h) => ((h as { entries: unknown }).entries = {}), 'has no entry list in its header.'],
    ];
    for (const [mutate, message] of cases) {
      const e = await refusal(await rewriteHeader(bytes, mutate));
      expect(e.kind).toBe('invalid');
      expect(e.message).toBe(`"my-gallery.reidgallery" ${message}`);
    }
  });

  it('a header that is not JSON', async () => {
    const bytes = await exported(threeEntries());
    bytes[PREAMBLE] = 0x7b + 1;
    expect((await refusal(await reseal(bytes))).message).toBe('"my-gallery.reidgallery" has a damaged header (not valid UTF-8 JSON).');
  });

  it('a damaged thumbnail, even with a checksum that matches', async () => {
    const entries = threeEntries();
    const bytes = await exported(entries);
    const lastThumb = bytes.length - entries[2].thumbnail!.size;
    const start = bytes.slice();
    start[lastThumb] = 0;
    let e = await refusal(await reseal(start));
    expect(e.kind).toBe('invalid');
    expect(e.message).toBe('"my-gallery.reidgallery" has a damaged thumbnail: entry 2 (id "e2") does not hold valid image/jpeg data.');
    const end = bytes.slice();
    end[lastThumb - 1] = 0; // the last byte of entry 1's thumbnail: its end-of-image marker
    e = await refusal(await reseal(end));
    expect(e.message).toBe(
      '"my-gallery.reidgallery" has a damaged thumbnail: entry 1 (id "e1") is a JPEG without its end-of-image marker (cut short or overwritten).',
    );
  });
});

describe('the checksum (version 2) refuses a file damaged after export, as a whole', () => {
  const DAMAGED =
    '"my-gallery.reidgallery" is damaged: its contents do not match the SHA-256 checksum written when it was exported (bytes were changed after the export).';

  it('writes the SHA-256 of everything after the preamble', async () => {
    const bytes = await exported(threeEntries());
    expect(new DataView(bytes.buffer).getUint32(8, true)).toBe(2);
    // Node's own SHA-256 (OpenSSL), not the WebCrypto call the format uses.
    const expected = createHash('sha256').update(bytes.subarray(PREAMBLE)).digest();
    expect(Buffer.from(bytes.subarray(16, PREAMBLE))).toEqual(expected);
  });

  it('flipped bytes anywhere in the payload: embeddings, thumbnails, header, and the checksum itself', async () => {
    const entries = threeEntries();
    const bytes = await exported(entries);
    const thumbsAt = floatAt(bytes, 3, 0, 0);
    const places: [string, number][] = [
      // The lowest byte of a float32 moves the value by ~1e-8 of itself: no per-value check can see it.
      ['low byte of an embedding value', floatAt(bytes, 1, 2, 5)],
      ['high byte of an embedding value', floatAt(bytes, 2, 4, 100) + 3],
      ['inside the first thumbnail', thumbsAt + Math.floor(entries[0].thumbnail!.size / 2)],
      ['inside the last thumbnail', bytes.length - 20],
      ['a digit of a camera number in the header', PREAMBLE + new TextDecoder().decode(bytes.subarray(PREAMBLE)).indexOf('"camera":2') + 9],
      ['the checksum', 20],
    ];
    for (const [what, at] of places) {
      const damaged = bytes.slice();
      damaged[at] ^= 0x01;
      const e = await refusal(damaged);
      expect(e.kind, what).toBe('damaged');
      expect(e.message, what).toBe(DAMAGED);
    }
  });

  it('every single flipped bit after the signature and version is refused', async () => {
    const bytes = await exported([makeEntry(0)]);
    let accepted = 0;
    for (let at = 12; at < bytes.length; at++) {
      const damaged = bytes.slice();
      damaged[at] ^= 1 << at % 8;
      if (await importGallery(fileOf(damaged)).then(() => true, () => false)) accepted++;
    }
    expect(accepted).toBe(0);
  });

  it('one embedding value altered, however slightly', async () => {
    const bytes = await exported(threeEntries());
    const view = new DataView(bytes.buffer);
    const at = floatAt(bytes, 0, 4, 64);
    view.setFloat32(at, view.getFloat32(at, true) * (1 + 1e-6), true);
    expect((await refusal(bytes)).message).toBe(DAMAGED);
  });

  it('a payload cut short, or cut and padded back to its length', async () => {
    const bytes = await exported(threeEntries());
    const cut = bytes.slice(0, floatAt(bytes, 1, 0, 0));
    expect((await refusal(cut)).kind).toBe('truncated');
    const padded = bytes.slice();
    padded.fill(0, bytes.length - 500);
    expect((await refusal(padded)).message).toBe(DAMAGED);
  });
});

describe('version 1 files (no checksum) still import, with every per-value check', () => {
  it('round-trips every field', async () => {
    const entries = threeEntries();
    const v1 = asVersion1(await exported(entries, 1_732_000_000_000));
    const imported = await importGallery(fileOf(v1), { expectedModelId: MODEL });
    expect(imported.exportedAt).toBe(1_732_000_000_000);
    expect(imported.foreignModelEntries).toBe(1);
    expect(imported.entries.map((e) => ({ ...e, thumbnail: null }))).toEqual(entries.map((e) => ({ ...e, thumbnail: null })));
    for (const [i, back] of imported.entries.entries()) expect(await bytesOf(back.thumbnail!)).toEqual(await bytesOf(entries[i].thumbnail!));
  });

  it('one embedding value altered by more than rounding is refused by the unit-norm check', async () => {
    const v1 = asVersion1(await exported(threeEntries()));
    const view = new DataView(v1.buffer);
    const headerLength = view.getUint32(12, true);
    const at = 16 + headerLength + ((1 * 5 + 3) * 128 + 9) * 4; // entry 1, stage 4, value 9
    view.setFloat32(at, view.getFloat32(at, true) + 0.01, true);
    const e = await refusal(v1);
    expect(e.kind).toBe('invalid');
    expect(e.message).toMatch(/^"my-gallery.reidgallery" has a bad embedding: entry 1 \(id "e1"\), stage 4 is not L2-normalised \(norm 1\.\d{4}\)\.$/);
  });

  it('a thumbnail overwritten at its end is refused', async () => {
    const entries = threeEntries();
    const v1 = asVersion1(await exported(entries));
    v1[v1.length - 1] = 0;
    const e = await refusal(v1);
    expect(e.message).toBe('"my-gallery.reidgallery" has a damaged thumbnail: entry 2 (id "e2") is a JPEG without its end-of-image marker (cut short or overwritten).');
  });
});
