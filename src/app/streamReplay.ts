// Replaying the user's gallery as a budgeted query stream (DaRe §4): every person's image in turn is a
// query against all the others (leave-one-out), stage by stage, and a StreamRouter decides where each one
// stops. The gallery's stored embeddings are enough, no model run: each query is one search of the
// gallery's index on the backend (src/engine/matcher.ts). Which pairs count is the re-ID protocol's rule
// (src/protocol), and the stream pass and budget points are the ones bench/curves uses. The stream
// service (streamService.ts) calls it.
import { exitSignal, ROUTING_POLICIES, type ExitSignal, type RoutingPolicy } from '../engine/stream';
import type { Match, StageKey } from '../engine/types';
import { budgetPoints, isQuery, pairKind, routeStream, type ReidLabel } from '../protocol';

export interface ReplayEntry extends ReidLabel {
  id: string;
  fileName: string;
  embeddings: Record<StageKey, Float32Array>;
}

/** Ranked matches of the gallery for each query embedding given (GallerySession.search). */
export type GallerySearch = (queries: Partial<Record<StageKey, Float32Array>>, k: number) => Promise<Partial<Record<StageKey, Match[]>>>;

export interface ExitOutcome {
  /** The nearest comparable entry is the query's person. */
  correct: boolean;
  signal: ExitSignal;
}

export interface ReplayQuery {
  entry: ReplayEntry;
  /** One outcome per exit of the stream (StageLayout.streamExits order). */
  outcomes: ExitOutcome[];
}

/** Neighbours fetched beyond the ones that cannot count, at first: enough for d1 and d2 almost always. */
const EXTRA_NEIGHBOURS = 32;

/** The gallery's labels, with the counts that say, per query, how many entries cannot count for it and
 * whether it has a true match at all. */
export class ReplayGallery {
  private readonly labels = new Map<string, ReidLabel>();
  private readonly persons = new Map<string, number>();
  private readonly personsByCamera = new Map<string, number>();
  private junk = 0;

  constructor(entries: Iterable<{ id: string } & ReidLabel>) {
    for (const e of entries) {
      this.labels.set(e.id, { identity: e.identity, camera: e.camera, kind: e.kind });
      if (e.kind === 'junk') this.junk++;
      if (e.kind !== 'person') continue;
      this.persons.set(e.identity, (this.persons.get(e.identity) ?? 0) + 1);
      if (e.camera !== null) this.personsByCamera.set(cameraKey(e), (this.personsByCamera.get(cameraKey(e)) ?? 0) + 1);
    }
  }

  get size(): number {
    return this.labels.size;
  }

  label(id: string): ReidLabel | undefined {
    return this.labels.get(id);
  }

  /** Other images of q's person from another camera (any other, when q's camera is unknown). */
  truePartners(q: ReidLabel): number {
    return (this.persons.get(q.identity) ?? 0) - 1 - this.sameCamera(q);
  }

  /** Entries that do not count for q: itself, its person from its own camera, junk. */
  ignoredFor(q: ReidLabel): number {
    return 1 + this.sameCamera(q) + this.junk;
  }

  private sameCamera(q: ReidLabel): number {
    return q.camera === null ? 0 : (this.personsByCamera.get(cameraKey(q)) ?? 1) - 1;
  }
}

const cameraKey = (l: ReidLabel) => `${l.identity}\u0000${l.camera}`;

/** Query `q` against every other comparable entry, at each of the stream's `exits` (the model layout's
 * streamExits), by searching the gallery index; null when q is no person or no other comparable entry is
 * its person. `q` must be in the searched index. */
export async function queryOutcomes(q: ReplayEntry, gallery: ReplayGallery, search: GallerySearch, exits: readonly StageKey[]): Promise<ReplayQuery | null> {
  if (!isQuery(q) || gallery.truePartners(q) <= 0) return null;
  const queries = Object.fromEntries(exits.map((key) => [key, q.embeddings[key]]));
  let k = Math.min(gallery.size, gallery.ignoredFor(q) + EXTRA_NEIGHBOURS);
  for (;;) {
    const ranked = await search(queries, k);
    const counted = exits.map((key) => comparableMatches(q, ranked[key] ?? [], gallery));
    // d2 needs a second identity among the counted neighbours; fetch more until one shows (or all are in).
    if (k >= gallery.size || counted.every((m) => m.some((x) => x.identity !== m[0]?.identity))) {
      if (counted.some((m) => m.length === 0)) return null; // the index lacks q's partners (not embedded yet)
      return { entry: q, outcomes: counted.map((m) => ({ correct: m[0].same, signal: exitSignal(m) })) };
    }
    k = Math.min(gallery.size, 4 * k);
  }
}

function comparableMatches(q: ReplayEntry, ranked: readonly Match[], gallery: ReplayGallery): { distance: number; identity: string; same: boolean }[] {
  const out: { distance: number; identity: string; same: boolean }[] = [];
  for (const m of ranked) {
    const g = m.id === q.id ? undefined : gallery.label(m.id);
    const pair = g && pairKind(q, g);
    if (g && pair) out.push({ distance: m.distance, identity: g.identity, same: pair === 'same' });
  }
  return out;
}

export interface StreamedQuery {
  entry: ReplayEntry;
  /** 1-based exit that answered (the last one is the full model). */
  exit: number;
  correct: boolean;
  /** Cumulative cost of that exit. */
  cost: number;
}

export interface StreamReplay {
  /** In arrival order. */
  queries: StreamedQuery[];
  averageCost: number;
  /** Queries answered at each exit. */
  exits: number[];
  rank1: number;
}

/** Streams the queries in a seeded shuffled order through a router for `budget` (in the unit of `costs`,
 * the cumulative cost of each exit). */
export function replayStream(queries: readonly ReplayQuery[], costs: readonly number[], budget: number, policy: RoutingPolicy, seed = 1): StreamReplay {
  if (queries.length === 0) throw new RangeError('no person has a true match among the other images: add more images of the same people');
  const { routed, stats } = routeStream(
    queries.map((q) => q.outcomes.map((o) => o.signal)),
    costs,
    budget,
    policy,
    seed,
  );
  const streamed = routed.map(({ query, exit }) => ({ entry: queries[query].entry, exit, correct: queries[query].outcomes[exit - 1].correct, cost: costs[exit - 1] }));
  return {
    queries: streamed,
    averageCost: stats.averageCost ?? 0,
    exits: stats.exits,
    rank1: streamed.filter((q) => q.correct).length / streamed.length,
  };
}

export interface CurvePoint {
  cost: number;
  rank1: number;
}

export interface ReplayCurves {
  /** Every query answered at exit s, for each s. */
  anytime: CurvePoint[];
  /** Rank-1 against the average budget, for budgets strictly between the first and last cost. */
  budgeted: Record<RoutingPolicy, CurvePoint[]>;
}

export function replayCurves(queries: readonly ReplayQuery[], costs: readonly number[], points = 8): ReplayCurves {
  const anytime = costs.map((cost, s) => ({ cost, rank1: queries.filter((q) => q.outcomes[s].correct).length / queries.length }));
  const budgets = budgetPoints(costs, points);
  const budgeted = Object.fromEntries(
    ROUTING_POLICIES.map((policy) => [policy, budgets.map((b) => ({ cost: b, rank1: replayStream(queries, costs, b, policy).rank1 }))]),
  ) as Record<RoutingPolicy, CurvePoint[]>;
  return { anytime, budgeted };
}
