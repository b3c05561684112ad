// Node only (tests, benchmark): the real person detector read from node_modules.
import { existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fileFetch } from '../../engine/node/fileFetch';
import { PersonDetector, type DetectorOptions } from '../detector';
import { DETECTOR_FILES, DETECTOR_PACKAGE_DIR } from '../detectorAsset';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const DETECTOR_JSON = join(ROOT, DETECTOR_PACKAGE_DIR, DETECTOR_FILES[0]);

export const detectorAvailable = existsSync(DETECTOR_JSON);
export const NO_DETECTOR = `SKIPPED: ${DETECTOR_JSON} is absent (npm install)`;

export function loadTestDetector(options: Partial<DetectorOptions> = {}): Promise<PersonDetector> {
  return PersonDetector.load(pathToFileURL(DETECTOR_JSON).href, options, { fetch: fileFetch });
}
