// The comparable-pair rule of the Market-1501 protocol, for every pair the app or the benchmarks count:
// junk never counts; a person seen twice by the same camera is not a re-identification; distractors are
// unlabelled negatives (different from every person, unknown among themselves).
import type { ReidLabel } from './labels';

export type PairKind = 'same' | 'different';

/** What a pair of images counts as, or null when it does not count. Symmetric; `a` and `b` are two
 * different images. */
export function pairKind(a: ReidLabel, b: ReidLabel): PairKind | null {
  if (a.kind === 'junk' || b.kind === 'junk') return null;
  if (a.kind === 'distractor' || b.kind === 'distractor') return a.kind === b.kind ? null : 'different';
  if (a.identity !== b.identity) return 'different';
  return a.camera !== null && a.camera === b.camera ? null : 'same';
}

/** Whether an image can be a query: only a person has a true match to find. */
export const isQuery = (label: ReidLabel): boolean => label.kind === 'person';
