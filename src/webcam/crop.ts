// Cutting people out of a frame tensor at the model's input size (geometry in geometry.ts).

import * as tf from '@tensorflow/tfjs';
import { cropBox, normalisedCropBox, type Box, type Size } from './geometry';

/** Fraction of the person box added on each side: Market-1501's crops, which the model learned from,
 * leave a little background around the person. */
export const CROP_MARGIN = 0.08;

/** Mid grey for the part of a crop that falls outside the frame. */
const PAD_VALUE = 128;

/** [h, w, 3] float32 RGB 0–255 crop of `box` from an [H, W, 3] frame, at the model's input size. */
export function cropPerson(frame: tf.Tensor3D, box: Box, modelInput: Size, margin = CROP_MARGIN): tf.Tensor3D {
  const [height, width] = frame.shape;
  const size = { width, height };
  const region = normalisedCropBox(cropBox(box, size, modelInput, margin), size);
  return tf.tidy(() => {
    const batch = (frame.dtype === 'float32' ? frame : frame.toFloat()).expandDims(0) as tf.Tensor4D;
    const crops = tf.image.cropAndResize(batch, [region], [0], [modelInput.height, modelInput.width], 'bilinear', PAD_VALUE);
    return crops.squeeze([0]) as tf.Tensor3D;
  });
}
