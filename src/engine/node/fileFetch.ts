// Node only (tests, benchmarks): a fetch that also serves file: URLs, so the real model loader can read
// a model from disk. Not exported from the engine's index (the app never bundles it).
import { readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const fileFetch: typeof fetch = async (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  if (!url.startsWith('file:')) return fetch(input, init);
  try {
    return new Response(await readFile(fileURLToPath(url)));
  } catch (e) {
    const notFound = (e as NodeJS.ErrnoException).code === 'ENOENT';
    return new Response(notFound ? 'not found' : String(e), { status: notFound ? 404 : 500 });
  }
};

/** file: URL of a model directory's model.json. */
export function modelJsonUrl(dir: string): string {
  return pathToFileURL(`${dir}/model.json`).href;
}
