import { describe, expect, it } from 'vitest';
import { personJpeg } from '../../e2e/fixtures/makeImages';
import { GalleryFileError } from './errors';
import { exportFileName, exportGallery, GALLERY_FILE_EXTENSION, importGallery, type ImportedGallery } from './exportFormat';
import { bytesOf, makeEntry } from './node/testEntries';

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

/** The file with its JSON header replaced by `mutate(header)` (preamble length updated). */
function rewriteHeader(bytes: Uint8Array, mutate: (h: LooseHeader) => void): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const length = dv.getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + length)));
  mutate(header);
  let json = JSON.stringify(header);
  json += ' '.repeat((4 - (json.length % 4)) % 4);
  const encoded = new TextEncoder().encode(json);
  const out = new Uint8Array(16 + encoded.length + bytes.length - 16 - length);
  out.set(bytes.subarray(0, 16));
  new DataView(out.buffer).setUint32(12, encoded.length, true);
  out.set(encoded, 16);
  out.set(bytes.subarray(16 + length), 16 + encoded.length);
  return out;
}

/** Byte offset of embedding value j of entry i, stage index s (0–4). */
function floatAt(bytes: Uint8Array, i: number, s: number, j: number, dim = 128): number {
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
  return 16 + headerLength + ((i * 5 + s) * dim + j) * 4;
}

const threeEntries = () => [makeEntry(0), makeEntry(1, { modelId: OTHER }), makeEntry(2)];

describe('exportGallery / importGallery', () => {
  it('round-trips every field, embeddings bit for bit and thumbnails byte for byte', async () => {
    const entries = threeEntries();
    const blob = exportGallery(entries, 1_732_000_000_000);
    const imported = await importGallery(fileOf(await bytesOfBlob(blob)), { expectedModelId: MODEL });
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
      expect(back.thumbnail.type).toBe('image/jpeg');
      expect(await bytesOf(back.thumbnail)).toEqual(await bytesOf(original.thumbnail));
    }
  });

  it('round-trips an empty gallery and reports no model mismatch without an expected model', async () => {
    const imported = await importGallery(exportGallery([], 5));
    expect(imported).toEqual<ImportedGallery>({ entries: [], exportedAt: 5, modelIds: [], foreignModelEntries: 0 });
    const some = await importGallery(exportGallery(threeEntries()));
    expect(some.foreignModelEntries).toBe(0);
  });

  it('adds under 250 bytes per entry beyond the raw float32 embeddings and the thumbnail', async () => {
    const entries = Array.from({ length: 50 }, (_, i) => makeEntry(i));
    const size = exportGallery(entries).size;
    const thumbnails = entries.reduce((n, e) => n + e.thumbnail.size, 0);
    const perEntryOverhead = (size - thumbnails - 50 * 5 * 128 * 4) / 50;
    expect(perEntryOverhead).toBeLessThan(250);
  });

  it('names the export file with the date and the extension', () => {
    expect(exportFileName(new Date(2025, 10, 21, 23, 59))).toBe(`anytime-reid-gallery-2025-11-21${GALLERY_FILE_EXTENSION}`);
  });

  it('refuses to export malformed entries, so every written file can be imported', () => {
    const mixed = [makeEntry(0), makeEntry(1, { dim: 64 })];
    expect(() => exportGallery(mixed)).toThrow('Cannot export: entry 1 (id "e1") embedding 1 has 64 values, expected 128.');
    expect(() => exportGallery([makeEntry(0), makeEntry(0)])).toThrow('Cannot export: id "e0" appears twice.');
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
    const bytes = await bytesOfBlob(exportGallery(threeEntries()));
    new DataView(bytes.buffer).setUint32(8, 2, true);
    const e = await refusal(bytes);
    expect(e.kind).toBe('unsupported-version');
    expect(e.message).toBe('"my-gallery.reidgallery" is a version 2 gallery file; this app reads version 1 only.');
  });

  it('a truncated file, wherever it was cut', async () => {
    const bytes = await bytesOfBlob(exportGallery(threeEntries()));
    const headerEnd = floatAt(bytes, 0, 0, 0);
    for (const cut of [5, 12, 100, headerEnd - 1, headerEnd + 10, floatAt(bytes, 2, 4, 127), bytes.length - 1]) {
      const e = await refusal(bytes.slice(0, cut));
      expect(e.kind, `cut at ${cut}`).toBe('truncated');
      expect(e.message, `cut at ${cut}`).toMatch(/^"my-gallery.reidgallery" is truncated: .+\.$/);
    }
    expect((await refusal(bytes.slice(0, bytes.length - 1))).message).toBe(
      `"my-gallery.reidgallery" is truncated: its header describes 3 entries in ${bytes.length} bytes but the file has ${bytes.length - 1}.`,
    );
  });

  it('extra bytes after the last entry', async () => {
    const bytes = await bytesOfBlob(exportGallery(threeEntries()));
    const longer = new Uint8Array(bytes.length + 7);
    longer.set(bytes);
    const e = await refusal(longer);
    expect(e.kind).toBe('invalid');
    expect(e.message).toBe('"my-gallery.reidgallery" has 7 unexpected bytes after its last entry: the file is damaged.');
  });

  it('a header whose embedding length does not match the data', async () => {
    const bytes = await bytesOfBlob(exportGallery(threeEntries()));
    expect((await refusal(rewriteHeader(bytes, (h) => (h.dim = 64)))).message).toMatch(/unexpected bytes after its last entry/);
    expect((await refusal(rewriteHeader(bytes, (h) => (h.dim = 256)))).kind).toBe('truncated');
    expect((await refusal(rewriteHeader(bytes, (h) => (h.dim = 0)))).message).toBe('"my-gallery.reidgallery" has an invalid embedding length 0 in its header.');
    expect((await refusal(rewriteHeader(bytes, (h) => (h.dim = 1.5)))).message).toBe('"my-gallery.reidgallery" has an invalid embedding length 1.5 in its header.');
  });

  it('NaN, infinite or unnormalised embeddings', async () => {
    const bytes = await bytesOfBlob(exportGallery(threeEntries()));
    const nan = bytes.slice();
    new DataView(nan.buffer).setFloat32(floatAt(nan, 1, 2, 7), NaN, true);
    let e = await refusal(nan);
    expect(e.kind).toBe('invalid');
    expect(e.message).toBe('"my-gallery.reidgallery" has a bad embedding: entry 1 (id "e1"), stage 3 holds NaN at index 7.');
    const inf = bytes.slice();
    new DataView(inf.buffer).setFloat32(floatAt(inf, 2, 4, 0), -Infinity, true);
    expect((await refusal(inf)).message).toBe('"my-gallery.reidgallery" has a bad embedding: entry 2 (id "e2"), stage fused holds -Infinity at index 0.');
    const big = bytes.slice();
    new DataView(big.buffer).setFloat32(floatAt(big, 0, 0, 3), 5, true);
    e = await refusal(big);
    expect(e.message).toMatch(/^"my-gallery.reidgallery" has a bad embedding: entry 0 \(id "e0"\), stage 1 is not L2-normalised \(norm 5\.\d{4}\)\.$/);
  });

  it('duplicate ids and bad header fields', async () => {
    const bytes = await bytesOfBlob(exportGallery(threeEntries()));
    const cases: [(h: LooseHeader) => void, string][] = [
      [(h) => (h.entries[2].id = 'e0'), 'has a duplicate id: "e0" appears more than once.'],
      [(h) => (h.entries[1].id = ''), 'has a bad header entry: entry 1 has no id.'],
      [(h) => (h.entries[1].identity = ' '), 'has a bad header entry: entry 1 (id "e1") has no identity.'],
      [(h) => (h.entries[0].camera = -1), 'has a bad header entry: entry 0 (id "e0") has an invalid camera -1.'],
      [(h) => delete h.entries[0].fileName, 'has a bad header entry: entry 0 (id "e0") has no file name.'],
      [(h) => (h.entries[0].addedAt = null), 'has a bad header entry: entry 0 (id "e0") has no valid addedAt time.'],
      [(h) => (h.entries[2].model = 2), 'has a bad header entry: entry 2 (id "e2") refers to model 2, which the header does not list.'],
      [(h) => (h.entries[2].thumbnailType = 'text/plain'), 'has a bad header entry: entry 2 (id "e2") has no image type for its thumbnail.'],
      [(h) => (h.entries[2].thumbnailBytes = 0), 'has a bad header entry: entry 2 (id "e2") has an invalid thumbnail size 0.'],
      [(h) => (h.format = 'something-else'), 'has a header of format "something-else", expected "anytime-reid-gallery".'],
      [(h) => (h.stages = ['fused', '1', '2', '3', '4']), 'lists stages ["fused","1","2","3","4"], expected ["1","2","3","4","fused"].'],
      [(h) => (h.modelIds = [42]), 'has no valid model ids in its header.'],
      [(h) => (h.exportedAt = 'yesterday'), 'has no valid export time in its header.'],
      [(h) => ((h as { entries: unknown }).entries = {}), 'has no entry list in its header.'],
    ];
    for (const [mutate, message] of cases) {
      const e = await refusal(rewriteHeader(bytes, mutate));
      expect(e.kind).toBe('invalid');
      expect(e.message).toBe(`"my-gallery.reidgallery" ${message}`);
    }
  });

  it('a header that is not JSON', async () => {
    const bytes = await bytesOfBlob(exportGallery(threeEntries()));
    bytes[16] = 0x7b + 1;
    expect((await refusal(bytes)).message).toBe('"my-gallery.reidgallery" has a damaged header (not valid UTF-8 JSON).');
  });

  it('a damaged thumbnail', async () => {
    const entries = threeEntries();
    const bytes = await bytesOfBlob(exportGallery(entries));
    const lastThumb = bytes.length - entries[2].thumbnail.size;
    bytes[lastThumb] = 0;
    const e = await refusal(bytes);
    expect(e.kind).toBe('invalid');
    expect(e.message).toBe('"my-gallery.reidgallery" has a damaged thumbnail: entry 2 (id "e2") does not hold valid image/jpeg data.');
  });
});
