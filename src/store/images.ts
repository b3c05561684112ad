// Reading a user's image for the model: pixels to embed and the thumbnail kept with a gallery entry.

import type { Engine } from '../engine';
import { decodeImage, ImageInputError, makeThumbnail } from '../input';

export interface ModelImage {
  pixels: ImageData;
  /** JPEG at the model's input size. */
  thumbnail: Blob;
}

/** Decodes `file` to at most twice the model's input size (the engine resizes the rest of the way) and
 * makes its thumbnail. Rejects with an ImageInputError for files that are not usable images. */
export async function readModelImage(file: Blob, engine: Engine): Promise<ModelImage> {
  const { height, width } = engine.model.meta.input;
  const image = await decodeImage(file, { maxSide: 2 * Math.max(height, width) });
  return { pixels: image.pixels, thumbnail: await makeThumbnail(image.pixels, width, height) };
}

/** `Not added: "a.txt" is not an image…` — input errors already name the file; other errors get its name. */
export function failureMessage(what: string, fileName: string, e: unknown): string {
  if (e instanceof ImageInputError) return `${what}: ${e.message}`;
  return `${what}: "${fileName}": ${e instanceof Error ? e.message : String(e)}`;
}
