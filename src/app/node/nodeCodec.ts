// Node only (service tests): an ImageCodec on jpeg-js, where the browser's uses createImageBitmap and
// canvases. JPEG only; anything else is refused as the browser's codec refuses a non-image.

import jpeg from 'jpeg-js';
import type { RgbaPixels } from '../../engine';
import { fileLabel, ImageInputError } from '../../input/errors';
import type { ImageCodec, ModelInputSize } from '../imageCodec';

async function decode(file: Blob): Promise<RgbaPixels> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  try {
    const { width, height, data } = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    return { width, height, data };
  } catch (e) {
    const name = fileLabel(file);
    throw new ImageInputError('not-image', name, `"${name}" is not an image (${e instanceof Error ? e.message : String(e)}).`);
  }
}

/** Nearest-neighbour stretch to exactly width×height (enough for a test thumbnail). */
function stretch(src: RgbaPixels, { width, height }: ModelInputSize): RgbaPixels {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(src.height - 1, Math.floor(((y + 0.5) * src.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(src.width - 1, Math.floor(((x + 0.5) * src.width) / width));
      data.set(src.data.subarray((sy * src.width + sx) * 4, (sy * src.width + sx) * 4 + 4), (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

function encode(pixels: RgbaPixels): Blob {
  const { data } = jpeg.encode({ width: pixels.width, height: pixels.height, data: pixels.data }, 92);
  return new Blob([new Uint8Array(data)], { type: 'image/jpeg' });
}

export const nodeCodec: ImageCodec = {
  async read(file, input) {
    const pixels = await decode(file);
    return { pixels, thumbnail: encode(stretch(pixels, input)) };
  },
  readThumbnail: (thumbnail) => decode(thumbnail),
  encodeCrop: async (crop) => encode(crop),
};
