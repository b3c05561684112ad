// Turning what the input layer decodes into the float RGB 0–255 tensor the graph takes.
import * as tf from '@tensorflow/tfjs';

/** RGBA bytes, row-major (ImageData has this shape; so does a plain object in Node). */
export interface RgbaPixels {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}

/** An image: RGBA pixels, a [h, w, 3] RGB 0–255 tensor (not disposed by the engine), or anything
 * tf.browser.fromPixels takes (ImageBitmap, canvas, image and video elements). */
export type PixelSource = RgbaPixels | tf.Tensor3D | Parameters<typeof tf.browser.fromPixels>[0];

function isRgbaPixels(src: PixelSource): src is RgbaPixels {
  return typeof src === 'object' && 'data' in src && (src.data instanceof Uint8ClampedArray || src.data instanceof Uint8Array);
}

/** [h, w, 3] float32 RGB 0–255. A float32 tensor passed in is returned as is: call this inside tf.tidy,
 * which disposes only the tensors made here. */
export function toImageTensor(src: PixelSource): tf.Tensor3D {
  if (src instanceof tf.Tensor) {
    if (src.rank !== 3 || src.shape[2] !== 3) throw new Error(`image tensor must be [h, w, 3], got [${src.shape.join(', ')}]`);
    return src.dtype === 'float32' ? src : tf.cast(src, 'float32');
  }
  if (isRgbaPixels(src)) {
    const { width, height, data } = src;
    if (data.length !== width * height * 4) throw new Error(`RGBA data holds ${data.length} bytes, not ${width}×${height}×4`);
    const rgb = new Float32Array(width * height * 3);
    for (let i = 0, j = 0; i < data.length; i += 4, j += 3) {
      rgb[j] = data[i];
      rgb[j + 1] = data[i + 1];
      rgb[j + 2] = data[i + 2];
    }
    return tf.tensor3d(rgb, [height, width, 3]);
  }
  return tf.tidy(() => tf.browser.fromPixels(src, 3).toFloat());
}
