// Loading an exported DaRe graph model from disk in Node with plain @tensorflow/tfjs (no tfjs-node),
// and running it the two ways the contract allows: one call, or stage by stage.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

export { tf };

/** Backends usable here: 'wasm' (XNNPACK, what the eval uses), 'cpu' (plain JS), 'webgpu' (Dawn via the `webgpu` package). */
export async function useBackend(name) {
  if (name === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
  } else if (name === 'webgpu') {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    globalThis.navigator ??= {};
    Object.defineProperty(globalThis.navigator, 'gpu', { value: create([]), configurable: true });
    await import('@tensorflow/tfjs-backend-webgpu');
  } else if (name !== 'cpu') {
    throw new Error(`unknown backend ${name}`);
  }
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
}

/** An IOHandler reading model.json and its shards from a directory. */
function directoryHandler(dir) {
  return {
    async load() {
      const modelJson = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs = [];
        const buffers = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const path of group.paths) buffers.push(await readFile(join(dir, path)));
        }
        const all = Buffer.concat(buffers);
        return [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength)];
      });
    },
  };
}

/** Returns { model, meta } where meta is userDefinedMetadata.dare. */
export async function loadDareModel(dir) {
  const model = await tf.loadGraphModel(directoryHandler(dir));
  const meta = model.metadata?.dare;
  if (!meta) throw new Error(`${dir}/model.json has no userDefinedMetadata.dare`);
  return { model, meta };
}

/** Every exit's embedding, then the fused one, from one execute() call. Caller disposes. */
export function embedMonolithic(model, meta, images) {
  const names = [...meta.stages.map((s) => s.embedding), meta.fused.embedding];
  return model.execute({ [meta.input.name]: images }, names);
}

/** What stage i is computed from (docs/architecture.md): its declared `input`, else (format 1) the
 * image for stage 1 and the previous stage's features after it. */
export function stageInput(meta, i) {
  return meta.stages[i].input ?? (i === 0 ? meta.input.name : meta.stages[i - 1].features);
}

/** Stage by stage and part by part as the anytime runner does it: each stage fed what it is computed
 * from (the image, or the previous stage's features), each of its `parts` but the first fed the feature
 * map the part before it ended with, then the fusion fed the stage embeddings. Caller disposes. */
export function embedStaged(model, meta, images) {
  const embeddings = [];
  let previous = null;
  for (const [i, stage] of meta.stages.entries()) {
    let from = stageInput(meta, i);
    let input = from === meta.input.name ? images : previous;
    const parts = stage.parts ?? [{}];
    for (const [j, part] of parts.entries()) {
      const last = j === parts.length - 1;
      const wanted = !last ? [part.features] : stage.features ? [stage.features, stage.embedding] : [stage.embedding];
      const outputs = model.execute({ [from]: input }, wanted);
      if (input !== images) input.dispose();
      if (!last) {
        from = part.features;
        input = outputs;
        continue;
      }
      const [features, embedding] = stage.features ? outputs : [null, outputs];
      previous = features;
      embeddings.push(embedding);
    }
  }
  previous?.dispose();
  const fusedFeed = Object.fromEntries(meta.stages.map((s, i) => [s.embedding, embeddings[i]]));
  embeddings.push(model.execute(fusedFeed, meta.fused.embedding));
  return embeddings;
}

/** [N, E, 128] float32, row-major, from the E [N, 128] tensors (exits then fused). Disposes them. */
export async function interleave(embeddings) {
  const stacked = tf.stack(embeddings, 1);
  tf.dispose(embeddings);
  const data = await stacked.data();
  stacked.dispose();
  return data;
}
