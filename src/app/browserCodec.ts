// The browser's ImageCodec: createImageBitmap and canvases (src/input), OffscreenCanvas for crops.

import type { RgbaPixels } from '../engine';
import { decodeImage, makeThumbnail } from '../input';
import type { ImageCodec } from './imageCodec';

/** JPEG quality of the enrolled crops' thumbnails (re-embedding after a model change starts from them). */
const CROP_JPEG_QUALITY = 0.95;

export const browserCodec: ImageCodec = {
  // Decoded to at most twice the model's input size: the engine resizes the rest of the way.
  async read(file, { height, width }) {
    const image = await decodeImage(file, { maxSide: 2 * Math.max(height, width) });
    return { pixels: image.pixels, thumbnail: await makeThumbnail(image.pixels, width, height) };
  },
  async readThumbnail(thumbnail, { height, width }) {
    return (await decodeImage(thumbnail, { maxSide: Math.max(height, width) })).pixels;
  },
  async encodeCrop(crop: RgbaPixels) {
    const canvas = new OffscreenCanvas(crop.width, crop.height);
    const context = canvas.getContext('2d');
    if (!context) throw new Error('no 2D canvas to encode the crop');
    context.putImageData(new ImageData(new Uint8ClampedArray(crop.data), crop.width, crop.height), 0, 0);
    return canvas.convertToBlob({ type: 'image/jpeg', quality: CROP_JPEG_QUALITY });
  },
};
