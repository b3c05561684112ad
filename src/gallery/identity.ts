// Reading the person identity and camera out of a Market-1501 file name, so a dropped dataset folder
// needs no typing; any other name returns null and the UI asks the user for the identity.

/** What a Market-1501 name says: a person, a distractor (identity 0000) or junk (identity -1). */
export interface MarketName {
  identity: string;
  camera: number;
  kind: 'person' | 'distractor' | 'junk';
}

// PPPP_cCsS_FFFFFF_BB.ext: person (or -1), camera, sequence, frame, bounding box.
// A doubled extension ('….jpg.jpg', as some copies of Market-1501 have) is still that name.
const MARKET_NAME = /^(-1|\d{4})_c([1-9])s(\d)_(\d{6})_(\d{2})\.(jpe?g|png)(\.jpe?g)?$/i;

/** Parses `0002_c1s1_000451_03.jpg` → { identity: '0002', camera: 1, kind: 'person' }. A leading folder
 * path (webkitRelativePath) is ignored; anything that is not a Market-1501 name gives null. */
export function parseMarketName(fileName: string): MarketName | null {
  const base = fileName.slice(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1);
  const m = MARKET_NAME.exec(base);
  if (!m) return null;
  const identity = m[1];
  const kind = identity === '-1' ? 'junk' : identity === '0000' ? 'distractor' : 'person';
  return { identity, camera: Number(m[2]), kind };
}
