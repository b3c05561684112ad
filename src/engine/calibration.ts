// What each step costs on this device and backend: measured once per (backend, model), persisted,
// then kept up to date from real runs.
import type { DareModel } from './model';
import type { RgbaPixels } from './pixels';
import { StagedPass, STEP_COUNT, stepStage } from './staged';
import type { BackendName, StageCosts, StageId } from './types';

type Ms5 = [number, number, number, number, number];

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
  /** Full passes run and thrown away before measuring (default 2). */
  warmupRuns?: number;
  /** Measured passes; each step's cost is the median (default 7). */
  runs?: number;
  /** Also measure the flip TTA costs (batch of 2) instead of assuming twice the plain ones (default true). */
  measureFlip?: boolean;
  /** Weight of one real run in the running estimate (exponential moving average, default 0.1). */
  learningRate?: number;
  /** Persist the learned costs every this many observed runs, and on flush() (default 20). */
  persistEvery?: number;
}

const DEFAULTS: Required<CalibrateOptions> = { warmupRuns: 2, runs: 7, measureFlip: true, learningRate: 0.1, persistEvery: 20 };

/** One observation moves the estimate at most this many times the current estimate, so one GC pause or
 * a backgrounded tab does not wreck the budget decisions; sustained slowness is still learned. */
const MAX_STEP_RATIO = 4;

export class Calibration {
  private current: StageCosts;
  private unsaved = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly opts: Required<CalibrateOptions>;

  private constructor(
    private readonly model: DareModel,
    private readonly storage: CostStorage,
    costs: StageCosts,
    opts: CalibrateOptions,
  ) {
    this.current = costs;
    this.opts = { ...DEFAULTS, ...opts };
  }

  static storageKey(backend: BackendName, modelId: string): string {
    return `anytime-reid:stage-costs:${backend}:${modelId}`;
  }

  /** The stored costs for (backend, model) if any, else measures them (model on the active backend,
   * already warmed up) and stores them. */
  static async open(model: DareModel, backend: BackendName, storage: CostStorage, opts: CalibrateOptions = {}): Promise<Calibration> {
    const stored = parseStageCosts(await storage.get(Calibration.storageKey(backend, model.modelId)), backend, model.url);
    if (stored) return new Calibration(model, storage, stored, opts);
    const calibration = new Calibration(model, storage, await measure(model, backend, { ...DEFAULTS, ...opts }), opts);
    await calibration.persist();
    return calibration;
  }

  /** A copy of the current costs. */
  costs(): StageCosts {
    return structuredClone(this.current);
  }

  /** Expected ms of each step (stages 1–4, fusion), with or without flip TTA. */
  stepCosts(flip: boolean): readonly number[] {
    return flip ? flipCosts(this.current) : this.current.ms;
  }

  /** Learns from a real single-image run: `stepMs[i]` is the measured time of step i. */
  observe(stepMs: readonly number[], flip: boolean): void {
    const lr = this.opts.learningRate;
    const est: Ms5 = [...(flip ? flipCosts(this.current) : this.current.ms)] as Ms5;
    stepMs.slice(0, STEP_COUNT).forEach((ms, i) => {
      est[i] += lr * (Math.min(ms, MAX_STEP_RATIO * est[i]) - est[i]);
    });
    this.current = { ...this.current, [flip ? 'flipMs' : 'ms']: est, samples: this.current.samples + 1, updatedAt: Date.now() };
    if (++this.unsaved >= this.opts.persistEvery) void this.persist().catch(() => undefined);
  }

  /** Measures again from scratch (e.g. after the device changed power mode) and stores the result. */
  async recalibrate(): Promise<StageCosts> {
    this.current = await measure(this.model, this.current.backend, this.opts);
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

function flipCosts(costs: StageCosts): Ms5 {
  return costs.flipMs ?? (costs.ms.map((ms) => 2 * ms) as Ms5);
}

function isMs5(v: unknown): v is Ms5 {
  return Array.isArray(v) && v.length === STEP_COUNT && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0);
}

/** The stored value if it is well-formed and for this backend and model URL, else null. */
export function parseStageCosts(v: unknown, backend: BackendName, modelUrl: string): StageCosts | null {
  if (typeof v !== 'object' || v === null) return null;
  const c = v as Partial<StageCosts>;
  if (c.backend !== backend || c.modelUrl !== modelUrl || !isMs5(c.ms)) return null;
  if (c.flipMs !== undefined && !isMs5(c.flipMs)) return null;
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
export async function measureStepMs(model: DareModel, flip: boolean, warmupRuns: number, runs: number): Promise<Ms5> {
  const image = calibrationImage(model);
  const samples: number[][] = Array.from({ length: STEP_COUNT }, () => []);
  for (let r = 0; r < warmupRuns + runs; r++) {
    const pass = new StagedPass(model, [image], flip);
    try {
      for (let i = 0; i < STEP_COUNT; i++) {
        const { ms } = await pass.step();
        if (r >= warmupRuns) samples[i].push(ms);
      }
    } finally {
      pass.dispose();
    }
  }
  return samples.map(median) as Ms5;
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

/** The deepest stage the runner reaches within `budgetMs` with these costs (stage 1 always runs). */
export function stageForBudget(costs: StageCosts, budgetMs: number, flip = false): StageId {
  const ms = flip ? flipCosts(costs) : costs.ms;
  let spent = ms[0];
  let reached = 0;
  for (let i = 1; i < STEP_COUNT && spent + ms[i] <= budgetMs; i++) {
    spent += ms[i];
    reached = i;
  }
  return stepStage(reached);
}

/** The budget in ms needed to reach `stage` with these costs (the sum of the steps up to it). */
export function budgetForStage(costs: StageCosts, stage: StageId, flip = false): number {
  const ms = flip ? flipCosts(costs) : costs.ms;
  const steps = stage === 'fused' ? STEP_COUNT : stage;
  return ms.slice(0, steps).reduce((a, b) => a + b, 0);
}
