// What each step costs on this device and backend: measured once per (backend, model), persisted,
// then kept up to date from real runs.
import type { DareModel } from './model';
import type { RgbaPixels } from './pixels';
import { COSTS } from '../config';
import { RunningCost } from './runningCost';
import { StagedPass } from './staged';
import { StageLayout } from './stages';
import type { BackendName, StageCosts, StageId } from './types';

type StepMs = number[];

/** Where calibrated costs persist. idb-keyval's `get` and `set` fit as they are. */
export interface CostStorage {
  get(key: string): Promise<unknown>;
  set(key: string, value: StageCosts): Promise<void>;
}

/** A CostStorage in memory (tests, Node, or a browser without IndexedDB). */
export function memoryCostStorage(): CostStorage {
  const entries = new Map<string, StageCosts>();
  return {
    get: async (key) => structuredClone(entries.get(key)),
    set: async (key, value) => {
      entries.set(key, structuredClone(value));
    },
  };
}

export interface CalibrateOptions {
  /** Full passes run and thrown away before measuring (default COSTS.warmupRuns). */
  warmupRuns?: number;
  /** Measured passes; each step's cost is the median (default COSTS.runs). */
  runs?: number;
  /** Also measure the flip TTA costs (batch of 2) instead of assuming twice the plain ones (default true). */
  measureFlip?: boolean;
  /** Weight of one real run in the running estimate (exponential moving average, default COSTS.learningRate). */
  learningRate?: number;
  /** Persist the learned costs every this many observed runs, and on flush() (default COSTS.persistEvery). */
  persistEvery?: number;
}

const DEFAULTS: Required<CalibrateOptions> = {
  warmupRuns: COSTS.warmupRuns,
  runs: COSTS.runs,
  measureFlip: COSTS.measureFlip,
  learningRate: COSTS.learningRate,
  persistEvery: COSTS.persistEvery,
};

/** What each step costs on this device: one RunningCost per step, plain and with flip TTA. Every real run
 * teaches it, whoever runs the steps: the anytime runner (search) and the webcam's tracks alike. */
export class Calibration {
  private plain: RunningCost[];
  private flipped: RunningCost[] | null;
  private meta: Pick<StageCosts, 'backend' | 'modelUrl' | 'samples' | 'updatedAt'>;
  private unsaved = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly opts: Required<CalibrateOptions>;

  private constructor(
    private readonly model: DareModel,
    private readonly storage: CostStorage,
    costs: StageCosts,
    opts: CalibrateOptions,
  ) {
    this.opts = { ...DEFAULTS, ...opts };
    this.meta = { backend: costs.backend, modelUrl: costs.modelUrl, samples: costs.samples, updatedAt: costs.updatedAt };
    this.plain = this.learners(costs.ms);
    this.flipped = costs.flipMs ? this.learners(costs.flipMs) : null;
  }

  private learners(ms: readonly number[]): RunningCost[] {
    return ms.map((m) => new RunningCost(m, this.opts.learningRate));
  }

  static storageKey(backend: BackendName, modelId: string): string {
    return `anytime-reid:stage-costs:${backend}:${modelId}`;
  }

  /** The stored costs for (backend, model) if any, else measures them (model on the active backend,
   * already warmed up) and stores them. */
  static async open(model: DareModel, backend: BackendName, storage: CostStorage, opts: CalibrateOptions = {}): Promise<Calibration> {
    const stored = parseStageCosts(await storage.get(Calibration.storageKey(backend, model.modelId)), backend, model.url, model.layout.stepCount);
    if (stored) return new Calibration(model, storage, stored, opts);
    const calibration = new Calibration(model, storage, await measure(model, backend, { ...DEFAULTS, ...opts }), opts);
    await calibration.persist();
    return calibration;
  }

  /** A copy of the current costs (the learned means). */
  costs(): StageCosts {
    return {
      ...this.meta,
      ms: this.plain.map((c) => c.mean),
      ...(this.flipped ? { flipMs: this.flipped.map((c) => c.mean) } : {}),
    };
  }

  /** Expected ms of each step (in step order), with or without flip TTA. */
  stepCosts(flip: boolean): readonly number[] {
    return this.stepLearners(flip).map((c) => c.mean);
  }

  /** A cautious figure for each step (mean plus twice the mean deviation), for planning a frame. */
  cautiousStepCosts(flip: boolean): readonly number[] {
    return this.stepLearners(flip).map((c) => c.cautious);
  }

  /** Learns from a real run of one image: `stepMs[i]` is the measured time of step i. */
  observe(stepMs: readonly number[], flip: boolean): void {
    const learners = this.stepLearners(flip);
    stepMs.slice(0, learners.length).forEach((ms, i) => learners[i].observe(ms));
    this.learned();
  }

  /** Learns from one step run on its own (the webcam resumes a person's pass step by step). */
  observeStep(step: number, ms: number, flip = false): void {
    this.stepLearners(flip)[step].observe(ms);
    if (step === 0) this.learned();
  }

  private stepLearners(flip: boolean): RunningCost[] {
    if (!flip) return this.plain;
    // Until flip runs are measured or seen, they are taken to cost twice the plain ones.
    this.flipped ??= this.learners(this.plain.map((c) => 2 * c.mean));
    return this.flipped;
  }

  private learned(): void {
    this.meta = { ...this.meta, samples: this.meta.samples + 1, updatedAt: Date.now() };
    if (++this.unsaved >= this.opts.persistEvery) void this.persist().catch(() => undefined);
  }

  /** Measures again from scratch (e.g. after the device changed power mode) and stores the result. */
  async recalibrate(): Promise<StageCosts> {
    const costs = await measure(this.model, this.meta.backend, this.opts);
    this.meta = { backend: costs.backend, modelUrl: costs.modelUrl, samples: costs.samples, updatedAt: costs.updatedAt };
    this.plain = this.learners(costs.ms);
    this.flipped = costs.flipMs ? this.learners(costs.flipMs) : null;
    await this.persist();
    return this.costs();
  }

  /** Writes the current costs now (the UI calls it on page hide). */
  flush(): Promise<void> {
    return this.persist();
  }

  private persist(): Promise<void> {
    this.unsaved = 0;
    const snapshot = this.costs();
    const key = Calibration.storageKey(snapshot.backend, this.model.modelId);
    this.writing = this.writing.catch(() => undefined).then(() => this.storage.set(key, snapshot));
    return this.writing;
  }
}

function flipCosts(costs: StageCosts): StepMs {
  return costs.flipMs ?? costs.ms.map((ms) => 2 * ms);
}

function isStepMs(v: unknown, steps: number): v is StepMs {
  return Array.isArray(v) && v.length === steps && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0);
}

/** The stored value if it is well-formed and for this backend, model URL and number of steps, else null. */
export function parseStageCosts(v: unknown, backend: BackendName, modelUrl: string, steps: number): StageCosts | null {
  if (typeof v !== 'object' || v === null) return null;
  const c = v as Partial<StageCosts>;
  if (c.backend !== backend || c.modelUrl !== modelUrl || !isStepMs(c.ms, steps)) return null;
  if (c.flipMs !== undefined && !isStepMs(c.flipMs, steps)) return null;
  return {
    backend,
    modelUrl,
    ms: c.ms,
    ...(c.flipMs ? { flipMs: c.flipMs } : {}),
    samples: typeof c.samples === 'number' ? c.samples : 0,
    updatedAt: typeof c.updatedAt === 'number' ? c.updatedAt : 0,
  };
}

/** A fixed, person-sized noise image: the costs depend on the shape, not the content. */
function calibrationImage(model: DareModel): RgbaPixels {
  const { height, width } = model.meta.input;
  const data = new Uint8ClampedArray(height * width * 4);
  let seed = 12345;
  for (let i = 0; i < data.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    data[i] = seed >>> 24;
  }
  return { width, height, data };
}

/** Per-step ms of `runs` full staged passes after `warmupRuns` discarded ones: the median per step. */
export async function measureStepMs(model: DareModel, flip: boolean, warmupRuns: number, runs: number): Promise<StepMs> {
  const image = calibrationImage(model);
  const steps = model.layout.stepCount;
  const samples: number[][] = Array.from({ length: steps }, () => []);
  for (let r = 0; r < warmupRuns + runs; r++) {
    const pass = new StagedPass(model, [image], flip);
    try {
      for (let i = 0; i < steps; i++) {
        const { ms } = await pass.step();
        if (r >= warmupRuns) samples[i].push(ms);
      }
    } finally {
      pass.dispose();
    }
  }
  return samples.map(median);
}

async function measure(model: DareModel, backend: BackendName, opts: Required<CalibrateOptions>): Promise<StageCosts> {
  const ms = await measureStepMs(model, false, opts.warmupRuns, opts.runs);
  const flipMs = opts.measureFlip ? await measureStepMs(model, true, opts.warmupRuns, opts.runs) : undefined;
  return { backend, modelUrl: model.url, ms, ...(flipMs ? { flipMs } : {}), samples: 0, updatedAt: Date.now() };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The layout of the model whose steps these costs are (one value per exit, then the fusion). */
export function costsLayout(costs: StageCosts): StageLayout {
  return new StageLayout(costs.ms.length - 1);
}

/** The deepest stage the runner reaches within `budgetMs` with these costs (stage 1 always runs). */
export function stageForBudget(costs: StageCosts, budgetMs: number, flip = false): StageId {
  const ms = flip ? flipCosts(costs) : costs.ms;
  let spent = ms[0];
  let reached = 0;
  for (let i = 1; i < ms.length && spent + ms[i] <= budgetMs; i++) {
    spent += ms[i];
    reached = i;
  }
  return costsLayout(costs).stepStage(reached);
}

/** The budget in ms needed to reach `stage` with these costs (the sum of the steps up to it). */
export function budgetForStage(costs: StageCosts, stage: StageId, flip = false): number {
  const ms = flip ? flipCosts(costs) : costs.ms;
  return ms.slice(0, costsLayout(costs).stageDepth(stage)).reduce((a, b) => a + b, 0);
}
