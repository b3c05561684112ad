// Synthetic query streams for exercising the router without a model: each query has a latent difficulty;
// deeper stages are right more often, and a right answer comes with a smaller nearest distance and a wider
// margin (the margin separates right from wrong better than the distance does).
import type { StreamRouter } from './router';
import type { ExitSignal } from './signals';

export interface SyntheticQuery {
  /** Per stage (index 0 = stage 1): the gallery distances and whether the nearest entry is right. */
  stages: { signal: ExitSignal; correct: boolean }[];
}

/** How difficulty evolves along the stream: i.i.d., or sorted (adversarial for history-based ranks). */
export type DifficultyOrder = 'shuffled' | 'increasing' | 'decreasing';

export interface SyntheticStreamOptions {
  length: number;
  stages: number;
  order: DifficultyOrder;
  rng: () => number;
}

function gaussian(rng: () => number): number {
  const u = 1 - rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

export function syntheticStream({ length, stages, order, rng }: SyntheticStreamOptions): SyntheticQuery[] {
  const difficulties = Array.from({ length }, () => rng());
  if (order === 'increasing') difficulties.sort((x, y) => x - y);
  if (order === 'decreasing') difficulties.sort((x, y) => y - x);
  return difficulties.map((h) => {
    // One draw per query: a query right at stage s stays right at the deeper (stronger) stages.
    const luck = rng();
    return {
      stages: Array.from({ length: stages }, (_, s) => {
        const skill = 0.3 + (0.6 * s) / Math.max(1, stages - 1);
        const correct = luck < 1 / (1 + Math.exp(-8 * (skill - h)));
        const d1 = Math.max(0, (correct ? 0.7 : 0.9) - 0.05 * s + 0.2 * h + 0.1 * gaussian(rng));
        const margin = Math.abs(correct ? 0.25 + 0.1 * gaussian(rng) : 0.03 + 0.05 * gaussian(rng));
        return { signal: { d1, d2: d1 + margin }, correct };
      }),
    };
  });
}

export interface StreamRun {
  /** Running average cost after each query. */
  averageCost: number[];
  /** Share of queries whose nearest entry was right at the stage they exited. */
  accuracy: number;
}

/** Feeds the queries through the router stage by stage, as the app would. */
export function runStream(router: StreamRouter, queries: readonly SyntheticQuery[]): StreamRun {
  const averageCost: number[] = [];
  let correct = 0;
  let total = 0;
  for (const query of queries) {
    let stage = 1;
    while (!router.shouldExit(stage, query.stages[stage - 1].signal)) stage++;
    if (query.stages[stage - 1].correct) correct++;
    total += router.costs[stage - 1];
    averageCost.push(total / (averageCost.length + 1));
  }
  return { averageCost, accuracy: correct / queries.length };
}

/** Every query less (`harder`) or more (`easier`) confident than all the queries before it, at every stage,
 * by both distance and margin: the worst case for ranks against a history. All answers count as right. */
export function monotoneStream(length: number, stages: number, direction: 'harder' | 'easier'): SyntheticQuery[] {
  return Array.from({ length }, (_, i) => {
    const t = direction === 'harder' ? i / length : 1 - i / length;
    return {
      stages: Array.from({ length: stages }, (_, s) => {
        const d1 = 0.5 + t - 0.05 * s;
        return { signal: { d1, d2: d1 + 0.3 * (1 - t) }, correct: true };
      }),
    };
  });
}
