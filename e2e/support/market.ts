// Market-1501 images chosen for the e2e tests, read at test time from ../shared/data/market1501 (or
// MARKET1501_ROOT); never copied into the repo. Identities come from the test split (not trained on).

import fs from 'node:fs';
import path from 'node:path';
import { marketMissing, marketRoot } from '../video/market';

export { marketMissing };

export interface MarketSet {
  /** Gallery images (absolute paths), one per camera other than the query's, identity by identity. */
  gallery: string[];
  identities: string[];
  /** Per identity: a query image from a camera that none of its gallery images comes from. */
  queries: Map<string, string>;
}

const NAME = /^(\d{4})_c(\d)s\d_\d{6}_\d{2}\.jpg$/;

function byIdentity(dir: string): Map<string, { file: string; camera: number }[]> {
  const out = new Map<string, { file: string; camera: number }[]>();
  for (const name of fs.readdirSync(dir).sort()) {
    const m = NAME.exec(name);
    if (!m || m[1] === '0000') continue;
    const list = out.get(m[1]) ?? [];
    list.push({ file: path.join(dir, name), camera: Number(m[2]) });
    out.set(m[1], list);
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
    const seen = new Set<number>();
    const gallery = (test.get(identity) ?? []).filter((g) => g.camera !== query.camera && !seen.has(g.camera) && seen.add(g.camera));
    if (gallery.length < Math.min(3, perIdentity)) continue;
    if (skipped++ < offset) continue;
    set.identities.push(identity);
    set.queries.set(identity, query.file);
    set.gallery.push(...gallery.slice(0, perIdentity).map((g) => g.file));
  }
  return set;
}

export const identityOf = (file: string): string => path.basename(file).slice(0, 4);
