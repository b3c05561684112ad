// How services turn files into pixels and pixels into thumbnails. The browser's codec (browserCodec.ts)
// uses src/input; Node tests pass one built on a JPEG library.

import type { RgbaPixels } from '../engine';
import { ImageInputError } from '../input/errors';

/** The model's input size (DareMetadata.input). */
export interface ModelInputSize {
  height: number;
  width: number;
}

export interface ModelImage {
  pixels: RgbaPixels;
  /** JPEG at the model's input size. */
  thumbnail: Blob;
}

export interface ImageCodec {
  /** A user's file, decoded for the model, and its thumbnail. Rejects with an ImageInputError for files
   * that are not usable images. */
  read(file: Blob, input: ModelInputSize): Promise<ModelImage>;
  /** The pixels of a stored thumbnail (re-embedding after a model change starts from them). */
  readThumbnail(thumbnail: Blob, input: ModelInputSize): Promise<RgbaPixels>;
  /** The thumbnail of a crop already at the model's input size (webcam enrollment). */
  encodeCrop(crop: RgbaPixels): Promise<Blob>;
}

/** `Not added: "a.txt" is not an image…` — input errors already name the file; other errors get its name. */
export function failureMessage(what: string, fileName: string, e: unknown): string {
  if (e instanceof ImageInputError) return `${what}: ${e.message}`;
  return `${what}: "${fileName}": ${e instanceof Error ? e.message : String(e)}`;
}
