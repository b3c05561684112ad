// Size arithmetic for decoding: pure, so it is unit-tested without a browser.

export interface Size {
  width: number;
  height: number;
}

/** The displayed size of an image stored as width×height with EXIF `orientation` (5–8 turn it 90°). */
export function orientedSize(width: number, height: number, orientation: number): Size {
  return orientation >= 5 && orientation <= 8 ? { width: height, height: width } : { width, height };
}

/** The size that fits `maxSide` on the long side, keeping the aspect ratio; never upscales, never
 * returns a side of 0. */
export function fitWithin(width: number, height: number, maxSide: number): Size {
  if (!(maxSide >= 1)) throw new RangeError(`maxSide must be at least 1, got ${maxSide}`);
  const side = Math.floor(maxSide);
  const long = Math.max(width, height);
  if (long <= side) return { width, height };
  const scale = side / long;
  return width >= height
    ? { width: side, height: Math.max(1, Math.round(height * scale)) }
    : { width: Math.max(1, Math.round(width * scale)), height: side };
}

// Past this, a failed decode is blamed on the size: 1 GiB of RGBA is beyond what browsers decode.
export const MAX_DECODABLE_PIXELS = 268_435_456;

export function isTooLargeToDecode(size: Size): boolean {
  return size.width * size.height > MAX_DECODABLE_PIXELS;
}
