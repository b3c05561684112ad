// Resizing decoded pixels to the model's input size, and the JPEG thumbnail stored with a gallery entry.
import { canvasToBlob, createCanvas } from './canvas';

/** `pixels` stretched to exactly width×height (the engine stretches too: re-ID crops are resized to
 * the model's input without keeping the aspect ratio). High-quality smoothing. */
export function resizePixels(pixels: ImageData, width: number, height: number): ImageData {
  if (pixels.width === width && pixels.height === height) return pixels;
  const src = createCanvas(pixels.width, pixels.height);
  src.ctx.putImageData(pixels, 0, 0);
  const dst = createCanvas(width, height);
  dst.ctx.imageSmoothingEnabled = true;
  dst.ctx.imageSmoothingQuality = 'high';
  dst.ctx.drawImage(src.canvas, 0, 0, width, height);
  return dst.ctx.getImageData(0, 0, width, height);
}

/** JPEG quality of thumbnails: high enough that re-embedding a thumbnail gives nearly the same embedding. */
export const THUMBNAIL_QUALITY = 0.92;

/** The GalleryEntry thumbnail: `pixels` resized to the model's input size (width×height from the
 * model metadata) as a JPEG Blob. */
export function makeThumbnail(pixels: ImageData, width: number, height: number): Promise<Blob> {
  const resized = resizePixels(pixels, width, height);
  const { canvas, ctx } = createCanvas(width, height);
  ctx.putImageData(resized, 0, 0);
  return canvasToBlob(canvas, 'image/jpeg', THUMBNAIL_QUALITY);
}
