// The engine's lifecycle, and the one place that announces it: a new engine is attached once it is ready,
// the old one is detached (and only then disposed) when the user forces another backend. Services that
// keep something on the engine's backend (the gallery index, the webcam's detector) or still use it (a
// search in flight) register here. No React, no zustand: the engine store mirrors `state`.

import { ModelLoadError, type BackendName, type Engine, type EngineProgress, type StageCosts } from '../engine';
import { Observable } from './observable';
import type { Notify } from './notify';

export type EngineStatus = 'loading' | 'ready' | 'error';

export interface EngineHostState {
  status: EngineStatus;
  progress: EngineProgress | null;
  /** Set once the engine is built (attach still running: status is 'ready' only after every attach). */
  engine: Engine | null;
  costs: StageCosts | null;
  error: string | null;
}

export interface EngineListener {
  /** Told before `engine` is disposed; may wait for work still using it to finish. */
  detach(engine: Engine): Promise<void>;
  /** Told after a new engine is built, before the host says it is ready. */
  attach(engine: Engine): Promise<void>;
}

/** Builds an engine on `force` (undefined: the automatic choice), reporting its progress. */
export type EngineFactory = (force: BackendName | undefined, onProgress: (progress: EngineProgress) => void) => Promise<Engine>;

export class EngineHost extends Observable<EngineHostState> {
  private readonly listeners = new Set<EngineListener>();
  /** Only one engine is built at a time (tfjs has one global backend); a newer request supersedes an older. */
  private queue: Promise<void> = Promise.resolve();
  private generation = 0;

  constructor(
    private readonly create: EngineFactory,
    private readonly notify: Notify,
  ) {
    super({ status: 'loading', progress: null, engine: null, costs: null, error: null });
  }

  /** Registers a service; returns the unregister function. */
  onChange(listener: EngineListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The engine once it is ready, else null. */
  ready(): Engine | null {
    return this.state.status === 'ready' ? this.state.engine : null;
  }

  /** The engine once it is ready; null if it failed to start. */
  whenReady(): Promise<Engine | null> {
    return new Promise((resolve) => {
      const check = (s: EngineHostState): boolean => {
        if (s.status === 'ready' && s.engine) resolve(s.engine);
        else if (s.status === 'error') resolve(null);
        else return false;
        return true;
      };
      if (check(this.state)) return;
      const unsubscribe = this.subscribe((s) => {
        if (check(s)) unsubscribe();
      });
    });
  }

  /** (Re)starts the engine on `force` (undefined: automatic). */
  start(force: BackendName | undefined): Promise<void> {
    const gen = ++this.generation;
    this.update({ status: 'loading', progress: null, error: null });
    const run = async () => {
      if (gen !== this.generation) return;
      const old = this.state.engine;
      if (old) {
        this.update({ engine: null });
        for (const l of this.listeners) await l.detach(old);
        await old.dispose().catch(() => undefined);
      }
      try {
        const engine = await this.create(force, (progress) => {
          if (gen === this.generation) this.update({ progress });
        });
        if (gen !== this.generation) {
          await engine.dispose();
          return;
        }
        this.update({ engine, costs: engine.costs(), progress: null });
        for (const l of this.listeners) await l.attach(engine);
        if (gen === this.generation) this.update({ status: 'ready' });
      } catch (e) {
        if (gen !== this.generation) return;
        const message = engineErrorMessage(e);
        this.update({ status: 'error', error: message, progress: null });
        this.notify.error(message);
      }
    };
    this.queue = this.queue.then(run, run);
    return this.queue;
  }

  /** Re-reads the learned costs (every real run updates them). */
  refreshCosts(): void {
    const engine = this.state.engine;
    if (engine) this.update({ costs: engine.costs() });
  }

  async recalibrate(): Promise<void> {
    const engine = this.state.engine;
    if (!engine) return;
    this.update({ status: 'loading', progress: { phase: 'calibrate', fraction: 0 } });
    try {
      const costs = await engine.calibration.recalibrate();
      if (this.state.engine === engine) this.update({ costs, status: 'ready', progress: null });
    } catch (e) {
      this.notify.error(`Calibration failed: ${e instanceof Error ? e.message : String(e)}`);
      if (this.state.engine === engine) this.update({ status: 'ready', progress: null });
    }
  }

  /** Writes the learned costs now (the page may be about to go away). */
  flush(): Promise<void> {
    return this.state.engine?.calibration.flush() ?? Promise.resolve();
  }
}

function engineErrorMessage(e: unknown): string {
  if (e instanceof ModelLoadError) {
    const hint = e.kind === 'network' || e.kind === 'http' ? ' Check the connection (or that the app is served with its model) and retry.' : '';
    return `The model could not be loaded: ${e.message}.${hint}`;
  }
  return `The engine could not start: ${e instanceof Error ? e.message : String(e)}`;
}
