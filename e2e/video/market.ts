// Market-1501 images for test-time videos. They are read from ../shared (never committed or bundled).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function marketRoot(): string {
  return process.env.MARKET1501_ROOT ?? path.resolve(REPO, '../shared/data/market1501');
}

/** Why Market-1501 cannot be used here, or null when it can. */
export function marketMissing(): string | null {
  const dir = path.join(marketRoot(), 'query');
  return fs.existsSync(dir) ? null : `Market-1501 not found at ${marketRoot()} (no query/ folder); set MARKET1501_ROOT`;
}

export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A Market-1501 image by file name, looked up in query/, then bounding_box_test/ and bounding_box_train/. */
export function readMarketImage(fileName: string): RgbaImage {
  for (const dir of ['query', 'bounding_box_test', 'bounding_box_train']) {
    const file = path.join(marketRoot(), dir, fileName);
    if (fs.existsSync(file)) {
      const img = jpeg.decode(fs.readFileSync(file), { useTArray: true, formatAsRGBA: true });
      return { width: img.width, height: img.height, data: img.data };
    }
  }
  throw new Error(`${fileName} is not in ${marketRoot()}`);
}
