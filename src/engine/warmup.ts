// Warming a freshly selected backend up: the first WebGPU/WebGL inference compiles every shader, which
// would otherwise land on (and blow) the first real deadline.
import * as tf from '@tensorflow/tfjs';
import { errorMessage } from './errors';
import type { DareModel } from './model';
import { prepareBatch, runMonolithic, runPart, StagedPass } from './staged';

interface CompilingBackend {
  checkCompileCompletionAsync(): Promise<unknown>;
  getUniformLocations?(): void;
}

/** Flag that makes each backend compile its programs without running them (then compiled in parallel). */
const COMPILE_ONLY_FLAG: Record<string, string> = { webgpu: 'WEBGPU_ENGINE_COMPILE_ONLY', webgl: 'ENGINE_COMPILE_ONLY' };

/** Compiles and runs once every program the runner uses on the active backend: the staged steps and
 * the one-call forward, for one image and for an image + its mirror (flip). */
export async function warmUp(model: DareModel): Promise<void> {
  const { height, width } = model.meta.input;
  const flag = COMPILE_ONLY_FLAG[tf.getBackend()];
  if (flag) {
    tf.env().set(flag, true);
    try {
      for (const rows of [1, 2]) tf.tidy(() => traceAllPrograms(model, rows, height, width));
      const backend = tf.backend() as unknown as CompilingBackend;
      await backend.checkCompileCompletionAsync();
      backend.getUniformLocations?.();
    } catch (e) {
      // Only an optimisation: the real passes below compile whatever is missing (and fail for real).
      console.warn(`parallel shader compilation failed, compiling on first use: ${errorMessage(e)}`);
    } finally {
      tf.env().set(flag, false);
    }
  }
  const image = { width, height, data: new Uint8ClampedArray(width * height * 4) };
  for (const flip of [false, true]) {
    const pass = new StagedPass(model, [image], flip);
    try {
      for (let i = 0; i < model.layout.stepCount; i++) await pass.step();
    } finally {
      pass.dispose();
    }
    const all = tf.tidy(() => tf.stack(runMonolithic(model, prepareBatch(model, [image], flip))));
    await all.data();
    all.dispose();
  }
}

function traceAllPrograms(model: DareModel, rows: number, height: number, width: number): void {
  const batch = tf.zeros([rows, height, width, 3]) as tf.Tensor4D;
  let features: tf.Tensor | null = null;
  for (const part of model.meta.stages.flatMap((stage) => stage.parts)) {
    const input: tf.Tensor | null = part.feed === model.meta.input.name ? batch : features;
    if (input) features = runPart(model, part, input).features;
  }
  runMonolithic(model, batch);
  tf.reverse(batch, 2);
}
