// The Debian packages the tests need beyond Node (a browser for the end-to-end tests, PyTorch and friends
// for the model pipeline's tests), and which of them this machine lacks. Plain Node only.
//
// `node scripts/systemPackages.mjs` prints the missing packages' names (nothing when none is missing):
// .ci/run installs exactly those.

import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The interpreter `npm run test:py` runs: Debian's, where the python3-* packages install. */
export const PYTHON = '/usr/bin/python3';

/** Python module → the Debian package that provides it for {@link PYTHON}. */
const PYTHON_MODULES = {
  torch: 'python3-torch',
  torchvision: 'python3-torchvision',
  numpy: 'python3-numpy',
  PIL: 'python3-pil',
  pytest: 'python3-pytest',
  // The MSMT17 OSNet import, its teacher and the ONNX checks read the .onnx file with it.
  onnx: 'python3-onnx',
};

const isExecutable = (path) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The Chromium the end-to-end tests run: $CHROMIUM_PATH, else `chromium` on the PATH; null when neither. */
export function findChromium(env = process.env) {
  if (env.CHROMIUM_PATH) return isExecutable(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : null;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, 'chromium'))) return join(dir, 'chromium');
  }
  return null;
}

/** Debian packages to install for the tests to run here, in install order ([] when none). */
export function missingSystemPackages(env = process.env) {
  const missing = [];
  if (!findChromium(env)) missing.push('chromium');
  if (!isExecutable(PYTHON)) return [...missing, 'python3', ...Object.values(PYTHON_MODULES)];
  // find_spec looks a module up without importing it (importing torch alone takes seconds).
  const probe = 'import importlib.util, sys; print(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))';
  const run = spawnSync(PYTHON, ['-c', probe, ...Object.keys(PYTHON_MODULES)], { encoding: 'utf8' });
  const absent = run.status === 0 ? run.stdout.split(/\s+/).filter(Boolean) : Object.keys(PYTHON_MODULES);
  return [...missing, ...absent.map((m) => PYTHON_MODULES[m])];
}

/** The exact command that installs `packages` on Debian (sudo unless already root). */
export function aptInstallCommand(packages) {
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  return `${sudo}apt-get install ${packages.join(' ')}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(missingSystemPackages().join(' '));
