// Market-1501 images chosen for the e2e tests, read at test time from ../shared/data/market1501 (or
// MARKET1501_ROOT); never copied into the repo. Identities come from the test split (not trained on).

import fs from 'node:fs';
import path from 'node:path';
import { parseImageName } from '../../src/protocol/index';
import { marketMissing, marketRoot } from '../video/market';

export { marketMissing };

export interface MarketSet {
  /** Gallery images (absolute paths), one per camera other than the query's, identity by identity. */
  gallery: string[];
  identities: string[];
  /** Per identity: a query image from a camera that none of its gallery images comes from. */
  queries: Map<string, string>;
}

/** The persons' images of a split, by identity (junk and distractors are nobody's). */
function byIdentity(dir: string): Map<string, { file: string; camera: number | null }[]> {
  const out = new Map<string, { file: string; camera: number | null }[]>();
  for (const name of fs.readdirSync(dir).sort()) {
    const label = parseImageName(name);
    if (label?.rule !== 'market1501' || label.kind !== 'person') continue;
    const list = out.get(label.identity) ?? [];
    list.push({ file: path.join(dir, name), camera: label.camera });
    out.set(label.identity, list);
  }
  return out;
}

/** `identities` people (the first with enough cameras, after skipping `offset`), up to `perIdentity`
 * gallery images each. */
export function marketSet(identities = 8, perIdentity = 4, offset = 0): MarketSet {
  const root = marketRoot();
  const queries = byIdentity(path.join(root, 'query'));
  const test = byIdentity(path.join(root, 'bounding_box_test'));
  const set: MarketSet = { gallery: [], identities: [], queries: new Map() };
  let skipped = 0;
  for (const [identity, candidates] of queries) {
    if (set.identities.length === identities) break;
    const query = candidates[0];
    const seen = new Set<number | null>();
    const gallery = (test.get(identity) ?? []).filter((g) => g.camera !== query.camera && !seen.has(g.camera) && seen.add(g.camera));
    if (gallery.length < Math.min(3, perIdentity)) continue;
    if (skipped++ < offset) continue;
    set.identities.push(identity);
    set.queries.set(identity, query.file);
    set.gallery.push(...gallery.slice(0, perIdentity).map((g) => g.file));
  }
  return set;
}

/** The identity a Market-1501 file's name gives. */
export function identityOf(file: string): string {
  const label = parseImageName(path.basename(file));
  if (!label) throw new Error(`${file} has no Market-1501 name`);
  return label.identity;
}

/** The first `count` junk (-1_…) and distractor (0000_…) images of the test split. */
export function unlabelledImages(count: number): { junk: string[]; distractors: string[] } {
  const dir = path.join(marketRoot(), 'bounding_box_test');
  const junk: string[] = [];
  const distractors: string[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const kind = parseImageName(name)?.kind;
    if (kind === 'junk' && junk.length < count) junk.push(path.join(dir, name));
    if (kind === 'distractor' && distractors.length < count) distractors.push(path.join(dir, name));
  }
  return { junk, distractors };
}
