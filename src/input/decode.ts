// Decoding a user's image file into RGBA pixels small enough for the engine, with typed errors.
import { createCanvas } from './canvas';
import { fileLabel, ImageInputError } from './errors';
import { describeNonImage, HEADER_BYTES, readImageHeader, sniffImageType, type ImageFormat } from './sniff';
import { fitWithin, isTooLargeToDecode, orientedSize, type Size } from './sizing';

/** Transparent pixels are composited over mid-grey: the graph maps 127.5 to 0 (x / 127.5 − 1), so
 * transparent areas feed the network as little signal as possible, where white or black would add
 * strong false edges around the person. */
export const ALPHA_BACKGROUND: readonly [number, number, number] = [128, 128, 128];

export interface DecodeOptions {
  /** Longest side of the returned pixels (larger images are downscaled while decoding, aspect kept). */
  maxSide: number;
}

export interface DecodedImage {
  /** RGBA, alpha 255 everywhere (transparency composited over ALPHA_BACKGROUND); EXIF orientation applied. */
  pixels: ImageData;
  width: number;
  height: number;
  /** Size of the image as displayed (EXIF orientation applied), before downscaling. */
  originalWidth: number;
  originalHeight: number;
  format: ImageFormat;
}

/** Decodes a File or Blob (browser: createImageBitmap + canvas). The format is recognised from the
 * file's bytes. When the header gives the size, the image is decoded straight to at most `maxSide`
 * (createImageBitmap's resizeWidth/resizeHeight), so an 8000×8000 photo never becomes an 8000×8000
 * canvas. Rejects with an {@link ImageInputError} only (a RangeError for a maxSide below 1). */
export async function decodeImage(file: Blob, { maxSide }: DecodeOptions): Promise<DecodedImage> {
  if (!(maxSide >= 1)) throw new RangeError(`maxSide must be at least 1, got ${maxSide}`);
  const name = fileLabel(file);
  if (file.size === 0) throw new ImageInputError('empty', name, `"${name}" is empty (0 bytes).`);
  let head: Uint8Array;
  try {
    head = new Uint8Array(await file.slice(0, HEADER_BYTES).arrayBuffer());
  } catch (e) {
    throw new ImageInputError('unreadable', name, `"${name}" could not be read (was it moved or deleted?).`, { cause: e });
  }
  const type = sniffImageType(head);
  if (!type) {
    const what = describeNonImage(head);
    throw new ImageInputError('not-image', name, `"${name}" is not an image${what ? `: it is ${what}` : ' (JPEG, PNG, WebP, GIF, BMP or AVIF)'}.`);
  }
  const header = readImageHeader(head);
  const original = header ? orientedSize(header.width, header.height, header.orientation) : null;

  let bitmap: ImageBitmap;
  let decodedSize: Size;
  try {
    ({ bitmap, original: decodedSize } = await decodeBitmap(file, original, maxSide));
  } catch (e) {
    if (original && isTooLargeToDecode(original)) {
      throw new ImageInputError('too-large', name, `"${name}" is too large to decode in this browser (${original.width}×${original.height} pixels).`, { cause: e });
    }
    throw new ImageInputError('corrupt', name, `"${name}" could not be decoded: the ${type.format.toUpperCase()} file is damaged or incomplete.`, { cause: e });
  }
  try {
    const { width, height } = bitmap;
    const { ctx } = createCanvas(width, height);
    ctx.fillStyle = `rgb(${ALPHA_BACKGROUND.join(',')})`;
    ctx.fillRect(0, 0, width, height);
    ctx.drawImage(bitmap, 0, 0);
    const pixels = ctx.getImageData(0, 0, width, height);
    return {
      pixels,
      width,
      height,
      originalWidth: decodedSize.width,
      originalHeight: decodedSize.height,
      format: type.format,
    };
  } finally {
    bitmap.close();
  }
}

/** The bitmap at most maxSide, and the image's displayed size before any downscaling. */
async function decodeBitmap(file: Blob, original: Size | null, maxSide: number): Promise<{ bitmap: ImageBitmap; original: Size }> {
  const base: ImageBitmapOptions = { imageOrientation: 'from-image', premultiplyAlpha: 'default', colorSpaceConversion: 'default' };
  if (original) {
    const target = fitWithin(original.width, original.height, maxSide);
    const resize = target.width !== original.width || target.height !== original.height;
    const options: ImageBitmapOptions = resize ? { ...base, resizeWidth: target.width, resizeHeight: target.height, resizeQuality: 'high' } : base;
    return { bitmap: await createImageBitmap(file, options), original };
  }
  // Size unknown from the header (AVIF): decoded at full size, then scaled down here.
  const full = await createImageBitmap(file, base);
  const size = { width: full.width, height: full.height };
  const fit = fitWithin(size.width, size.height, maxSide);
  if (fit.width === size.width && fit.height === size.height) return { bitmap: full, original: size };
  try {
    return { bitmap: await createImageBitmap(full, { resizeWidth: fit.width, resizeHeight: fit.height, resizeQuality: 'high' }), original: size };
  } finally {
    full.close();
  }
}
