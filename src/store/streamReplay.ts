// Replaying the user's gallery as a budgeted query stream (DaRe §4): every entry in turn is a query
// against all the others (leave-one-out), stage by stage, and a StreamRouter decides where each one
// stops. Pure: the gallery's stored embeddings are enough, no model run. The store (stream.ts) calls it.
import { exitSignal, ROUTING_POLICIES, seededPermutation, seededRandom, StreamRouter, type ExitSignal, type RoutingPolicy } from '../engine/stream';
import type { StageKey } from '../engine/types';
import { distanceFromCosine } from '../engine/vectors';

/** The exits of the stream: stages 1–3, then the full model (its fused embedding). */
export const STREAM_EXITS: readonly StageKey[] = ['1', '2', '3', 'fused'];

export interface ReplayEntry {
  id: string;
  identity: string;
  camera: number | null;
  fileName: string;
  embeddings: Record<StageKey, Float32Array>;
}

export interface ExitOutcome {
  /** The nearest other entry has the query's identity. */
  correct: boolean;
  signal: ExitSignal;
}

export interface ReplayQuery {
  entry: ReplayEntry;
  /** One outcome per exit (STREAM_EXITS order). */
  outcomes: ExitOutcome[];
}

/** Whether gallery entry g counts for query q: not itself, and not its identity seen by its own camera
 * (the Market-1501 rule, where the camera is known). */
function comparable(q: ReplayEntry, g: ReplayEntry): boolean {
  return g !== q && !(g.identity === q.identity && q.camera !== null && g.camera === q.camera);
}

/** Query `q` against every other comparable entry, at each exit (Euclidean distance between the
 * L2-normalised embeddings); null when no other comparable entry shares its identity. */
export function queryOutcomes(q: ReplayEntry, entries: readonly ReplayEntry[]): ReplayQuery | null {
  const others = entries.filter((g) => comparable(q, g));
  if (!others.some((g) => g.identity === q.identity)) return null;
  const outcomes = STREAM_EXITS.map((key) => {
    const a = q.embeddings[key];
    const matches = others.map((g) => {
      const b = g.embeddings[key];
      let dot = 0;
      for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
      return { distance: distanceFromCosine(dot), identity: g.identity };
    });
    const signal = exitSignal(matches);
    const nearest = matches.find((m) => m.distance === signal.d1);
    return { correct: nearest?.identity === q.identity, signal };
  });
  return { entry: q, outcomes };
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
  if (queries.length === 0) throw new RangeError('no entry has a true match among the others: add more images of the same people');
  const router = new StreamRouter({ costs, budget, policy, rng: seededRandom(seed) });
  const streamed = seededPermutation(queries.length, seed).map((i) => {
    const { entry, outcomes } = queries[i];
    let s = 1;
    while (!router.shouldExit(s, outcomes[s - 1].signal)) s++;
    return { entry, exit: s, correct: outcomes[s - 1].correct, cost: costs[s - 1] };
  });
  const stats = router.stats();
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
  const first = costs[0];
  const last = costs[costs.length - 1];
  const budgets = Array.from({ length: points }, (_, k) => first + ((last - first) * (k + 1)) / (points + 1));
  const budgeted = Object.fromEntries(
    ROUTING_POLICIES.map((policy) => [policy, budgets.map((b) => ({ cost: b, rank1: replayStream(queries, costs, b, policy).rank1 }))]),
  ) as Record<RoutingPolicy, CurvePoint[]>;
  return { anytime, budgeted };
}
