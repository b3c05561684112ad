// The short probe Automatic mode times on each GPU backend on real hardware and on wasm: layers shaped like
// the model's first stage (OSNet x0.25 on a 256×128 image: a 7×7 stride-2 stem, a max pool, then
// pointwise / depthwise / pointwise blocks), read back as the runner reads back each stage. It runs
// before the model is downloaded, so choosing costs no model download per backend.
import * as tf from '@tensorflow/tfjs';
import { median } from './calibration';

const INPUT: [number, number, number, number] = [1, 256, 128, 3];
const STEM = 16;
const WIDE = 64;
const BLOCKS = 3;

interface ProbeWeights {
  stem: tf.Tensor4D;
  blocks: { expand: tf.Tensor4D; depthwise: tf.Tensor4D; project: tf.Tensor4D }[];
}

function makeWeights(): ProbeWeights {
  // Seeded: every backend gets the same work (values only matter for staying finite).
  const w = (shape: [number, number, number, number], seed: number) => tf.randomNormal(shape, 0, 0.1, 'float32', seed) as tf.Tensor4D;
  return {
    stem: w([7, 7, 3, STEM], 1),
    blocks: Array.from({ length: BLOCKS }, (_, i) => ({
      expand: w([1, 1, STEM, WIDE], 10 + i),
      depthwise: w([3, 3, WIDE, 1], 20 + i),
      project: w([1, 1, WIDE, STEM], 30 + i),
    })),
  };
}

function forward(image: tf.Tensor4D, weights: ProbeWeights): tf.Tensor {
  let x = tf.maxPool(tf.relu(tf.conv2d(image, weights.stem, 2, 'same')), 3, 2, 'same');
  for (const b of weights.blocks) {
    const y = tf.relu(tf.depthwiseConv2d(tf.relu(tf.conv2d(x, b.expand, 1, 'same')), b.depthwise, 1, 'same'));
    x = tf.add(x, tf.conv2d(y, b.project, 1, 'same'));
  }
  return tf.mean(x, [1, 2]);
}

/** Median ms of `runs` probe passes on the active backend, after one untimed pass that compiles its
 * shaders (a GPU backend's first run is mostly compilation, which the app's warm-up also pays once). */
export async function timeProbe(runs = 5): Promise<number> {
  const weights = makeWeights();
  const image = tf.randomUniform(INPUT, 0, 255, 'float32', 2) as tf.Tensor4D;
  const once = async () => {
    const out = tf.tidy(() => forward(image, weights));
    try {
      await out.data();
    } finally {
      out.dispose();
    }
  };
  try {
    await once();
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await once();
      ms.push(performance.now() - t0);
    }
    return median(ms);
  } finally {
    image.dispose();
    tf.dispose([weights.stem, ...weights.blocks.flatMap((b) => [b.expand, b.depthwise, b.project])]);
  }
}
