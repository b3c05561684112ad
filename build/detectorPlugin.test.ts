import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DETECTOR_FILES, DETECTOR_PACKAGE_DIR, DETECTOR_URL_DIR } from '../src/webcam/detectorAsset';
import { DETECTOR_URL } from '../src/webcam/detector';
import { detectorModelPlugin } from './detectorPlugin';

describe('detectorModelPlugin', () => {
  it('copies into the build, under the URL the app loads the detector from, the files the package ships', () => {
    for (const f of DETECTOR_FILES) expect(existsSync(resolve(DETECTOR_PACKAGE_DIR, f))).toBe(true);
    const emitted: { fileName: string; source: Uint8Array }[] = [];
    const plugin = detectorModelPlugin();
    const generateBundle = plugin.generateBundle as (this: { emitFile(f: { fileName: string; source: Uint8Array }): void }) => void;
    generateBundle.call({ emitFile: (f) => void emitted.push(f) });
    expect(emitted.map((f) => f.fileName)).toEqual(DETECTOR_FILES.map((f) => `${DETECTOR_URL_DIR.slice(1)}${f}`));
    expect(`/${emitted[0].fileName}`).toBe(DETECTOR_URL);
    expect(emitted.every((f) => f.source.length > 0)).toBe(true);
  });
});
