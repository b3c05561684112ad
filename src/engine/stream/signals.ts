// What a routing policy sees of a query at one stage, and how it turns that into a confidence score.

export type RoutingPolicy = 'random' | 'distance' | 'margin';
export const ROUTING_POLICIES: readonly RoutingPolicy[] = ['random', 'distance', 'margin'];

/** Gallery distances of the query at the current stage. */
export interface ExitSignal {
  /** Distance to the nearest gallery entry. */
  d1: number;
  /** Distance to the nearest entry of another identity than the nearest one (needed by `margin`). */
  d2?: number;
}

export interface LabelledMatch {
  distance: number;
  identity: string;
}

/** d1 and d2 from gallery matches in any order. Pass enough neighbours for another identity to show up:
 * when every listed match shares the nearest one's identity, the largest listed distance stands in for
 * d2 (a lower bound of it, so the margin is never overstated). */
export function exitSignal(matches: readonly LabelledMatch[]): ExitSignal {
  if (matches.length === 0) throw new RangeError('no gallery matches: the gallery is empty');
  let nearest = matches[0];
  for (const m of matches) if (m.distance < nearest.distance) nearest = m;
  let d2 = Infinity;
  let farthest = nearest.distance;
  for (const m of matches) {
    if (m.identity !== nearest.identity && m.distance < d2) d2 = m.distance;
    if (m.distance > farthest) farthest = m.distance;
  }
  return { d1: nearest.distance, d2: d2 === Infinity ? farthest : d2 };
}

/** Higher = more confident: −d1 for `distance`, d2 − d1 for `margin`. */
export function confidenceScore(policy: Exclude<RoutingPolicy, 'random'>, signal: ExitSignal | undefined): number {
  if (!signal || !Number.isFinite(signal.d1)) throw new TypeError(`the ${policy} policy needs a finite d1`);
  if (policy === 'distance') return -signal.d1;
  if (signal.d2 === undefined || Number.isNaN(signal.d2)) throw new TypeError('the margin policy needs d2 (gallery labels)');
  return signal.d2 - signal.d1;
}
