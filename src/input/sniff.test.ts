import { inflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import * as fx from '../../e2e/fixtures/makeImages';
import { crc32 } from '../../e2e/fixtures/pngEncode';
import { describeNonImage, HEADER_BYTES, readExifOrientation, readImageHeader, sniffImageType } from './sniff';

const bytes = (...xs: (number | string)[]) =>
  Uint8Array.from(xs.flatMap((x) => (typeof x === 'string' ? [...x].map((c) => c.charCodeAt(0)) : [x])));

describe('sniffImageType', () => {
  it('recognises formats by their magic bytes', () => {
    expect(sniffImageType(fx.personJpeg().bytes)).toEqual({ format: 'jpeg', mime: 'image/jpeg' });
    expect(sniffImageType(fx.pngWithAlpha().bytes)).toEqual({ format: 'png', mime: 'image/png' });
    expect(sniffImageType(bytes('GIF89a', 1, 0, 1, 0))?.format).toBe('gif');
    expect(sniffImageType(bytes('RIFF', 0, 0, 0, 0, 'WEBPVP8 '))?.format).toBe('webp');
    expect(sniffImageType(bytes('BM', ...new Array(24).fill(0)))?.format).toBe('bmp');
    expect(sniffImageType(bytes(0, 0, 0, 20, 'ftypavif', 0, 0, 0, 0, 'mif1'))?.format).toBe('avif');
    expect(sniffImageType(bytes(0, 0, 0, 24, 'ftypmif1', 0, 0, 0, 0, 'mif1avif'))?.format).toBe('avif');
  });

  it('ignores the name and MIME type: text called .jpg, HEIC, empty and too-short files are not images', () => {
    expect(sniffImageType(fx.textAsJpeg().bytes)).toBeNull();
    expect(sniffImageType(fx.heicLike().bytes)).toBeNull();
    expect(sniffImageType(new Uint8Array(0))).toBeNull();
    expect(sniffImageType(bytes(0xff, 0xd8))).toBeNull();
    expect(sniffImageType(bytes(0x89, 'PNG'))).toBeNull();
  });
});

describe('describeNonImage', () => {
  it('names common non-image files for the error message', () => {
    expect(describeNonImage(fx.heicLike().bytes)).toMatch(/^a HEIC\/HEIF photo/);
    expect(describeNonImage(bytes('%PDF-1.7\n'))).toBe('a PDF document');
    expect(describeNonImage(bytes('PK', 3, 4, 20, 0))).toBe('a ZIP archive');
    expect(describeNonImage(bytes('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">'))).toMatch(/^an SVG drawing/);
    expect(describeNonImage(bytes('II', 42, 0, 8, 0, 0, 0))).toMatch(/^a TIFF image/);
    expect(describeNonImage(fx.textAsJpeg().bytes)).toBeNull();
  });
});

describe('readImageHeader', () => {
  it('reads JPEG and PNG sizes from the fixtures', () => {
    expect(readImageHeader(fx.personJpeg().bytes)).toEqual({ width: 64, height: 128, orientation: 1 });
    expect(readImageHeader(fx.personJpeg({ width: 333, height: 77 }).bytes)).toEqual({ width: 333, height: 77, orientation: 1 });
    expect(readImageHeader(fx.grayscaleJpeg().bytes)).toEqual({ width: 64, height: 128, orientation: 1 });
    expect(readImageHeader(fx.pngWithAlpha().bytes)).toEqual({ width: 64, height: 128, orientation: 1 });
    expect(readImageHeader(fx.pngVariant('rgb16').bytes)).toEqual({ width: 64, height: 128, orientation: 1 });
  });

  it('reads the 8000×8000 size from the first bytes only', () => {
    const huge = fx.hugeJpeg().bytes;
    expect(readImageHeader(huge.subarray(0, 1024))).toEqual({ width: 8000, height: 8000, orientation: 1 });
  });

  it('reads the EXIF orientation of a JPEG stored sideways', () => {
    expect(readImageHeader(fx.exifRotatedJpeg().bytes)).toEqual({ width: 128, height: 64, orientation: 6 });
    const mm = bytes('MM', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0);
    expect(readExifOrientation(mm)).toBe(8);
    expect(readExifOrientation(bytes('II', 42, 0, 8, 0, 0, 0, 0, 0))).toBeNull();
  });

  it('reads GIF, BMP and the three WebP layouts', () => {
    expect(readImageHeader(bytes('GIF89a', 0x40, 0x01, 0xf0, 0x00))).toMatchObject({ width: 320, height: 240 });
    const bmp = new Uint8Array(30);
    bmp.set(bytes('BM'));
    new DataView(bmp.buffer).setUint32(14, 40, true);
    new DataView(bmp.buffer).setInt32(18, 100, true);
    new DataView(bmp.buffer).setInt32(22, -50, true); // top-down
    expect(readImageHeader(bmp)).toMatchObject({ width: 100, height: 50 });
    const riff = (chunk: string, payload: number[]) => bytes('RIFF', 0, 0, 0, 0, 'WEBP', chunk, 0, 0, 0, 0, ...payload);
    // VP8 (lossy): frame tag, start code, then 14-bit width and height.
    expect(readImageHeader(riff('VP8 ', [0, 0, 0, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]))).toMatchObject({ width: 320, height: 240 });
    // VP8L (lossless): signature 0x2f, then 14 bits width−1, 14 bits height−1.
    const w = 319;
    const h = 239;
    const v = w | (h << 14);
    expect(readImageHeader(riff('VP8L', [0x2f, v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff]))).toMatchObject({ width: 320, height: 240 });
    // VP8X (extended): flags, 3 reserved bytes, 24-bit width−1 and height−1.
    expect(readImageHeader(riff('VP8X', [0, 0, 0, 0, 0x3f, 0x1f, 0, 0xef, 0x1f, 0]))).toMatchObject({ width: 8000, height: 8176 });
  });

  it('returns null when the header does not say', () => {
    expect(readImageHeader(fx.personJpeg().bytes.subarray(0, 40))).toBeNull();
    expect(readImageHeader(bytes(0, 0, 0, 20, 'ftypavif', 0, 0, 0, 0, 'mif1'))).toBeNull();
    expect(readImageHeader(fx.textAsJpeg().bytes)).toBeNull();
    const big = fx.jpegWithLargeMetadata().bytes;
    expect(readImageHeader(big.subarray(0, HEADER_BYTES))).toBeNull();
    expect(readImageHeader(big)).toEqual({ width: 640, height: 1280, orientation: 1 });
  });
});

describe('fixture encoders write valid files', () => {
  it('JPEGs decode (jpeg-js) to the figure, grayscale ones with one channel', () => {
    const colour = jpeg.decode(fx.personJpeg().bytes, { useTArray: true, formatAsRGBA: true });
    expect([colour.width, colour.height]).toEqual([64, 128]);
    const at = (x: number, y: number) => [...colour.data.subarray((y * 64 + x) * 4, (y * 64 + x) * 4 + 3)];
    // shirt (200, 40, 40) in the middle of the torso, within rounding of the colour conversion
    at(32, 48).forEach((c, i) => expect(Math.abs(c - [200, 40, 40][i])).toBeLessThanOrEqual(3));
    const grey = jpeg.decode(fx.grayscaleJpeg().bytes, { useTArray: true, formatAsRGBA: true });
    const g = [...grey.data.subarray((48 * 64 + 32) * 4, (48 * 64 + 32) * 4 + 3)];
    expect(g[0]).toBe(g[1]);
    expect(g[1]).toBe(g[2]);
    expect(Math.abs(g[0] - Math.round(0.299 * 200 + 0.587 * 40 + 0.114 * 40))).toBeLessThanOrEqual(2);
  });

  it('the sideways JPEG shows the upright figure once rotated 90° clockwise', () => {
    const stored = jpeg.decode(fx.exifRotatedJpeg().bytes, { useTArray: true, formatAsRGBA: true });
    expect([stored.width, stored.height]).toEqual([128, 64]);
    // displayed (x, y) = (63 − sy, sx): the displayed torso centre (32, 48) is stored at (48, 31)
    const p = [...stored.data.subarray((31 * 128 + 48) * 4, (31 * 128 + 48) * 4 + 3)];
    p.forEach((c, i) => expect(Math.abs(c - [200, 40, 40][i])).toBeLessThanOrEqual(3));
  });

  it('PNGs have valid chunk CRCs and inflate to the right number of rows', () => {
    for (const kind of ['gray', 'gray-alpha', 'rgb16', 'palette'] as const) {
      const png = fx.pngVariant(kind).bytes;
      const dv = new DataView(png.buffer);
      let at = 8;
      const idat: Uint8Array[] = [];
      const types: string[] = [];
      while (at < png.length) {
        const len = dv.getUint32(at);
        const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
        types.push(type);
        expect((crc32(png.subarray(at + 4, at + 8 + len)) ^ 0xffffffff) >>> 0, `${kind} ${type} CRC`).toBe(dv.getUint32(at + 8 + len));
        if (type === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + len));
        at += 12 + len;
      }
      expect(types[0]).toBe('IHDR');
      expect(types.at(-1)).toBe('IEND');
      const channels = { gray: 1, 'gray-alpha': 2, rgb16: 6, palette: 1 }[kind];
      expect(inflateSync(Buffer.concat(idat)).length).toBe(128 * (1 + 64 * channels));
    }
  });

  it('truncated and corrupt fixtures keep a valid start', () => {
    const t = fx.truncated(fx.personJpeg());
    expect(t.name).toBe('truncated-0002_c1s1_000451_03.jpg');
    expect(sniffImageType(t.bytes)?.format).toBe('jpeg');
    expect(() => jpeg.decode(fx.corruptJpeg().bytes)).toThrow();
    expect(readImageHeader(fx.corruptJpeg().bytes)).toEqual({ width: 64, height: 128, orientation: 1 });
  });
});
