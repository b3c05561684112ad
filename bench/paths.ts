// Where the benches find the repository and, unless told otherwise, write their results: one definition,
// so every bench's default output lands in the same folder however it is started.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const RESULTS_DIR = join(REPO_ROOT, 'bench/results');
