// The stage vocabulary, defined once: the model's exits (each yields an embedding) and the fusion of their
// embeddings that follows them. A DaRe export lists its exits in its metadata (stages[], fused.weights);
// parseDareMetadata refuses a model whose exits are not these, so the app and its model cannot disagree.
// A model with another number of exits changes EXITS here; everything else derives from it.

export const EXITS = [1, 2, 3, 4] as const;
export type ExitStage = (typeof EXITS)[number];

export type StageId = ExitStage | 'fused';
export type StageKey = `${StageId}`;

/** Every embedding a full pass yields, in step order: the exits, then 'fused'. */
export const STAGE_IDS: readonly StageId[] = [...EXITS, 'fused'];
export const stageKey = (s: StageId): StageKey => String(s) as StageKey;
export const STAGE_KEYS: readonly StageKey[] = STAGE_IDS.map(stageKey);

/** Steps of a full embed: one per exit, then the fusion. */
export const STEP_COUNT = STAGE_IDS.length;
/** Index (0-based) of the fusion step. */
export const FUSION_STEP = EXITS.length;

/** StageId produced by step `i` (0-based). */
export function stepStage(i: number): StageId {
  const stage = STAGE_IDS[i];
  if (stage === undefined) throw new RangeError(`step ${i} does not exist (a pass has ${STEP_COUNT} steps)`);
  return stage;
}

/** Steps run to reach `stage` (0 for none): the inverse of stepStage, plus one. */
export function stageDepth(stage: StageId | null): number {
  return stage === null ? 0 : STAGE_IDS.indexOf(stage) + 1;
}

/** A record with one value per stage key. */
export function perStage<T>(value: (key: StageKey, step: number) => T): Record<StageKey, T> {
  return Object.fromEntries(STAGE_KEYS.map((key, step) => [key, value(key, step)])) as Record<StageKey, T>;
}
