// Recognising image files by their first bytes (never by name or MIME type, which users and OSes get
// wrong), and reading their size and EXIF orientation from the header without decoding them.

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'bmp' | 'avif';

export interface SniffedType {
  format: ImageFormat;
  mime: string;
}

/** How many leading bytes the header readers below want: enough for EXIF blocks before a JPEG's SOF. */
export const HEADER_BYTES = 256 * 1024;

const ascii = (b: Uint8Array, at: number, len: number): string =>
  at + len <= b.length ? String.fromCharCode(...b.subarray(at, at + len)) : '';

const startsWith = (b: Uint8Array, sig: readonly number[], at = 0): boolean =>
  b.length >= at + sig.length && sig.every((x, i) => b[at + i] === x);

// ISO-BMFF "ftyp" brands: the major brand, then the compatible ones.
function ftypBrands(b: Uint8Array): string[] {
  if (ascii(b, 4, 4) !== 'ftyp' || b.length < 16) return [];
  const size = Math.min(((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0, b.length);
  const brands = [ascii(b, 8, 4)];
  for (let at = 16; at + 4 <= size; at += 4) brands.push(ascii(b, at, 4));
  return brands;
}

/** The image format the bytes start with, or null when they are not one this app decodes. */
export function sniffImageType(b: Uint8Array): SniffedType | null {
  if (startsWith(b, [0xff, 0xd8, 0xff])) return { format: 'jpeg', mime: 'image/jpeg' };
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { format: 'png', mime: 'image/png' };
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return { format: 'gif', mime: 'image/gif' };
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return { format: 'webp', mime: 'image/webp' };
  if (ascii(b, 0, 2) === 'BM' && b.length >= 26) return { format: 'bmp', mime: 'image/bmp' };
  const brands = ftypBrands(b);
  if (brands[0] === 'avif' || brands[0] === 'avis' || (brands[0] === 'mif1' && brands.includes('avif'))) {
    return { format: 'avif', mime: 'image/avif' };
  }
  return null;
}

/** A short description of common non-image (or undecodable image) files, for the error message. */
export function describeNonImage(b: Uint8Array): string | null {
  const brands = ftypBrands(b);
  if (brands.some((x) => ['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'].includes(x))) {
    return 'a HEIC/HEIF photo, which browsers cannot decode (export it as JPEG first)';
  }
  if (brands.length > 0) return 'a video or other MP4-family file';
  if (ascii(b, 0, 5) === '%PDF-') return 'a PDF document';
  if (startsWith(b, [0x50, 0x4b, 0x03, 0x04])) return 'a ZIP archive';
  const text = ascii(b, 0, Math.min(b.length, 256)).trimStart().toLowerCase();
  if (text.startsWith('<svg') || (text.startsWith('<?xml') && text.includes('<svg'))) return 'an SVG drawing (vector images are not supported)';
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return 'a TIFF image, which browsers cannot decode';
  return null;
}

export interface ImageHeaderInfo {
  /** Stored size, before the EXIF orientation is applied. */
  width: number;
  height: number;
  /** EXIF orientation 1–8 (1 when absent); 5–8 swap width and height when displayed. */
  orientation: number;
}

/** Size (and JPEG EXIF orientation) from the header bytes, or null when they do not say (AVIF, or a
 * JPEG whose frame header lies beyond the bytes given). */
export function readImageHeader(b: Uint8Array): ImageHeaderInfo | null {
  const type = sniffImageType(b);
  if (!type) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (type.format) {
    case 'png':
      return b.length >= 24 && ascii(b, 12, 4) === 'IHDR' ? positive(dv.getUint32(16), dv.getUint32(20)) : null;
    case 'gif':
      return b.length >= 10 ? positive(dv.getUint16(6, true), dv.getUint16(8, true)) : null;
    case 'bmp': {
      if (dv.getUint32(14, true) === 12) return positive(dv.getUint16(18, true), dv.getUint16(20, true));
      return positive(Math.abs(dv.getInt32(18, true)), Math.abs(dv.getInt32(22, true)));
    }
    case 'webp':
      return readWebpSize(b, dv);
    case 'jpeg':
      return readJpegHeader(b, dv);
    case 'avif':
      return null;
  }
}

function readWebpSize(b: Uint8Array, dv: DataView): ImageHeaderInfo | null {
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8 ' && b.length >= 30) return positive(dv.getUint16(26, true) & 0x3fff, dv.getUint16(28, true) & 0x3fff);
  if (chunk === 'VP8L' && b.length >= 25) {
    const [b0, b1, b2, b3] = [b[21], b[22], b[23], b[24]];
    return positive(1 + (b0 | ((b1 & 0x3f) << 8)), 1 + ((b1 >> 6) | (b2 << 2) | ((b3 & 0x0f) << 10)));
  }
  if (chunk === 'VP8X' && b.length >= 30) {
    return positive(1 + (b[24] | (b[25] << 8) | (b[26] << 16)), 1 + (b[27] | (b[28] << 8) | (b[29] << 16)));
  }
  return null;
}

const positive = (width: number, height: number): ImageHeaderInfo | null =>
  width > 0 && height > 0 ? { width, height, orientation: 1 } : null;

// Start-of-frame markers: C0–CF except DHT (C4), JPG (C8) and DAC (CC).
const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

function readJpegHeader(b: Uint8Array, dv: DataView): ImageHeaderInfo | null {
  let orientation = 1;
  let at = 2;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return null;
    const marker = b[at + 1];
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += 2; // markers without a length
      continue;
    }
    const length = dv.getUint16(at + 2);
    if (length < 2) return null;
    if (isSof(marker)) {
      if (at + 9 > b.length) return null;
      const size = positive(dv.getUint16(at + 7), dv.getUint16(at + 5));
      return size && { ...size, orientation };
    }
    if (marker === 0xda || marker === 0xd9) return null; // scan or end before any frame header
    if (marker === 0xe1 && ascii(b, at + 4, 6) === 'Exif\0\0') {
      orientation = readExifOrientation(b.subarray(at + 10, Math.min(b.length, at + 2 + length))) ?? orientation;
    }
    at += 2 + length;
  }
  return null;
}

/** The Orientation tag (0x0112) of IFD0 in a TIFF block (the EXIF payload), or null. */
export function readExifOrientation(tiff: Uint8Array): number | null {
  if (tiff.length < 8) return null;
  const order = ascii(tiff, 0, 2);
  if (order !== 'II' && order !== 'MM') return null;
  const le = order === 'II';
  const dv = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  if (dv.getUint16(2, le) !== 42) return null;
  const ifd = dv.getUint32(4, le);
  if (ifd + 2 > tiff.length) return null;
  const count = dv.getUint16(ifd, le);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) return null;
    if (dv.getUint16(entry, le) === 0x0112) {
      const value = dv.getUint16(entry + 8, le);
      return value >= 1 && value <= 8 ? value : null;
    }
  }
  return null;
}
