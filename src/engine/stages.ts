// The stage vocabulary, defined once: a model's exits (each yields an embedding), numbered 1…n in
// execution order, and the fusion of their embeddings that follows them. How many exits there are is the
// model's: a DaRe export lists them in its metadata (stages[], fused.weights) and parseDareMetadata builds
// the model's StageLayout from that list, which every part of the app that walks the stages takes from
// the loaded model (engine.model.layout) rather than assuming a number.

export type ExitStage = number;
export type StageId = ExitStage | 'fused';
export type StageKey = `${number}` | 'fused';

export const stageKey = (s: StageId): StageKey => String(s) as StageKey;

/** Exit numbers are 1…99 (MAX_EXITS); 'fused' is the fusion. The hub's protocol checks keys with it too. */
export const STAGE_KEY_PATTERN = /^([1-9][0-9]?|fused)$/;
export const isStageKey = (key: string): key is StageKey => STAGE_KEY_PATTERN.test(key);

/** The most exits a model may have (two-digit stage keys). */
export const MAX_EXITS = 99;

/** The steps of one model's pass: one per exit, then the fusion. */
export class StageLayout {
  /** Exits 1…n. */
  readonly exits: readonly ExitStage[];
  /** Every embedding a full pass yields, in step order: the exits, then 'fused'. */
  readonly ids: readonly StageId[];
  readonly keys: readonly StageKey[];
  /** Steps of a full embed: one per exit, then the fusion. */
  readonly stepCount: number;
  /** Index (0-based) of the fusion step. */
  readonly fusionStep: number;

  constructor(exitCount: number) {
    if (!Number.isInteger(exitCount) || exitCount < 1 || exitCount > MAX_EXITS) throw new RangeError(`a model has 1 to ${MAX_EXITS} exits, not ${exitCount}`);
    this.exits = Array.from({ length: exitCount }, (_, i) => i + 1);
    this.ids = [...this.exits, 'fused'];
    this.keys = this.ids.map(stageKey);
    this.stepCount = this.ids.length;
    this.fusionStep = exitCount;
  }

  /** The layout whose keys are exactly `keys` (in any order), or null: how stored embeddings say which
   * model layout computed them. */
  static ofKeys(keys: Iterable<string>): StageLayout | null {
    const list = [...keys];
    const exits = list.length - 1;
    if (exits < 1 || exits > MAX_EXITS) return null;
    const layout = new StageLayout(exits);
    const given = new Set(list);
    return given.size === list.length && layout.keys.every((k) => given.has(k)) ? layout : null;
  }

  /** StageId produced by step `i` (0-based). */
  stepStage(i: number): StageId {
    const stage = this.ids[i];
    if (stage === undefined) throw new RangeError(`step ${i} does not exist (a pass has ${this.stepCount} steps)`);
    return stage;
  }

  /** Steps run to reach `stage` (0 for none): the inverse of stepStage, plus one. */
  stageDepth(stage: StageId | null): number {
    return stage === null ? 0 : this.ids.indexOf(stage) + 1;
  }

  /** A record with one value per stage key. */
  perStage<T>(value: (key: StageKey, step: number) => T): Record<StageKey, T> {
    return Object.fromEntries(this.keys.map((key, step) => [key, value(key, step)])) as Record<StageKey, T>;
  }

  /** The exits a budgeted stream chooses between (DaRe §4): every exit but the last, then the full model,
   * whose answer is the fused embedding (the last exit alone costs the same and is not an exit of its own). */
  get streamExits(): readonly StageKey[] {
    return [...this.keys.slice(0, this.fusionStep - 1), 'fused'];
  }

  /** How a UI names a stage: "stage 2 of 3", or the fusion. */
  describe(stage: StageId): string {
    return stage === 'fused' ? 'all stages and their fusion' : `stage ${stage} of ${this.exits.length}`;
  }
}
