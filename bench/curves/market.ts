// Market-1501 on disk: the query and gallery (bounding_box_test) file lists with their labels, and JPEG
// decoding to the RGBA pixels the engine takes.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import jpeg from 'jpeg-js';
import type { RgbaPixels } from '../../src/engine/index';
import { parseImageName, type ReidLabel } from '../../src/protocol/index';

export interface MarketImage extends ReidLabel {
  /** Path relative to the dataset root, e.g. query/0001_c1s1_001051_00.jpg: the embedding cache key. */
  file: string;
}

export interface MarketSplit {
  root: string;
  query: MarketImage[];
  gallery: MarketImage[];
}

export function marketRoot(repoRoot: string): string {
  return resolve(process.env.MARKET1501_ROOT ?? join(repoRoot, '../shared/data/market1501'));
}

async function listDir(root: string, dir: string): Promise<MarketImage[]> {
  const names = (await readdir(join(root, dir))).sort();
  const out: MarketImage[] = [];
  for (const name of names) {
    const label = parseImageName(name);
    if (label?.rule === 'market1501') out.push({ file: `${dir}/${name}`, identity: label.identity, camera: label.camera, kind: label.kind });
  }
  return out;
}

/** The evaluation split, or null when the dataset is not there. */
export async function loadMarket(root: string): Promise<MarketSplit | null> {
  if (!existsSync(join(root, 'query')) || !existsSync(join(root, 'bounding_box_test'))) return null;
  return { root, query: await listDir(root, 'query'), gallery: await listDir(root, 'bounding_box_test') };
}

export async function decodeImage(root: string, image: MarketImage): Promise<RgbaPixels> {
  const { width, height, data } = jpeg.decode(await readFile(join(root, image.file)), { useTArray: true, formatAsRGBA: true });
  return { width, height, data };
}
