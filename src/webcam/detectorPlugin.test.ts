import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DETECTOR_FILES, DETECTOR_PACKAGE_DIR, DETECTOR_URL_DIR } from './detectorAsset';
import { PLUGIN_ASSET } from './detectorPlugin';

describe('detectorModelPlugin', () => {
  it('copies the files the app loads the detector from, from where the package ships them', () => {
    expect(PLUGIN_ASSET).toEqual({ packageDir: DETECTOR_PACKAGE_DIR, files: [...DETECTOR_FILES], urlDir: DETECTOR_URL_DIR });
    for (const f of DETECTOR_FILES) expect(existsSync(resolve(DETECTOR_PACKAGE_DIR, f))).toBe(true);
  });
});
