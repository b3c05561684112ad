// Market-1501 evaluation, per query (the reference is training/dare/metrics.py): single query; which
// gallery images count is the protocol's pair rule (src/protocol pairKind: the query's identity taken by
// the query's camera, and junk, are ignored; distractors stay in as negatives). Alongside rank-1 and AP it
// keeps what the budgeted stream routes on: d1 and d2 over the same valid gallery.
import { pairKind, type ReidLabel } from '../../src/protocol/index';

export interface QueryScore {
  /** The nearest valid gallery image has the query's identity. */
  correct: boolean;
  /** Average precision over the valid gallery. */
  ap: number;
  /** Distance to the nearest valid gallery image. */
  d1: number;
  /** Distance to the nearest valid gallery image of another identity than the nearest one. */
  d2: number;
}

/** Scores one query from its distances to every gallery image; null when no valid true match exists
 * (such a query does not count, as in the reference). Ties count in the query's favour. */
export function scoreQuery(distances: ArrayLike<number>, query: ReidLabel, gallery: readonly ReidLabel[]): QueryScore | null {
  const positives: number[] = [];
  const negatives: number[] = [];
  let d1 = Infinity;
  let nearest: string | null = null;
  let d2 = Infinity;
  for (let i = 0; i < gallery.length; i++) {
    const pair = pairKind(query, gallery[i]);
    if (!pair) continue;
    const { identity } = gallery[i];
    const d = distances[i];
    (pair === 'same' ? positives : negatives).push(d);
    if (d < d1) {
      if (identity !== nearest) d2 = d1;
      d1 = d;
      nearest = identity;
    } else if (identity !== nearest && d < d2) {
      d2 = d;
    }
  }
  if (positives.length === 0) return null;
  positives.sort((a, b) => a - b);
  // Rank of the j-th positive = j + negatives strictly nearer than it: counted by binary search into
  // the sorted positives, then prefix-summed (no sort of the whole gallery).
  const nearerThan = new Array<number>(positives.length + 1).fill(0);
  for (const d of negatives) {
    let lo = 0;
    let hi = positives.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (positives[mid] <= d) lo = mid + 1;
      else hi = mid;
    }
    nearerThan[lo]++;
  }
  let before = 0;
  let sum = 0;
  for (let j = 0; j < positives.length; j++) {
    before += nearerThan[j];
    sum += (j + 1) / (j + before + 1);
  }
  return { correct: nearerThan[0] === 0, ap: sum / positives.length, d1, d2 };
}

export interface Summary {
  rank1: number;
  mAP: number;
  queries: number;
}

export function summarise(scores: readonly QueryScore[]): Summary {
  if (scores.length === 0) throw new RangeError('no query has a valid match in the gallery');
  let hits = 0;
  let ap = 0;
  for (const s of scores) {
    if (s.correct) hits++;
    ap += s.ap;
  }
  return { rank1: hits / scores.length, mAP: ap / scores.length, queries: scores.length };
}

/** ROC AUC of `scores` for telling `positive` items from the rest: the chance that a random positive
 * scores above a random negative (ties count half). NaN when either class is empty. */
export function rocAuc(scores: readonly number[], positive: readonly boolean[]): number {
  const order = scores.map((_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && scores[order[j]] === scores[order[i]]) j++;
    const midRank = (i + j + 1) / 2; // 1-based average rank of the tied block
    for (let k = i; k < j; k++) {
      if (positive[order[k]]) {
        positives++;
        rankSum += midRank;
      }
    }
    i = j;
  }
  const negatives = scores.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
