// Mirror of the engine host (src/app/engineHost.ts): the engine's lifecycle as the UI shows it. Starting
// reads the backend the user chose in the settings.

import { create } from 'zustand';
import type { BackendStatus, Engine, EngineProgress, StageCosts } from '../engine';
import type { EngineStatus } from '../app/engineHost';
import { engineHost } from '../services';
import { useSettings, type BackendChoice } from './settings';

export type ModelStatus = EngineStatus;

interface EngineState {
  status: ModelStatus;
  progress: EngineProgress | null;
  /** The last engine's backend (kept while a new one starts). */
  backend: BackendStatus | null;
  costs: StageCosts | null;
  error: string | null;
  engine: Engine | null;
  /** (Re)starts the engine on the backend chosen in the settings. */
  start(): Promise<void>;
  selectBackend(choice: BackendChoice): Promise<void>;
  /** Re-reads the calibrated costs (they keep learning from real runs). */
  refreshCosts(): void;
  recalibrate(): Promise<void>;
}

const mirror = () => {
  const { status, progress, engine, costs, error } = engineHost.state;
  return { status, progress, engine, costs, error };
};

export const useEngine = create<EngineState>()((_set, getState) => ({
  ...mirror(),
  backend: null,
  start: () => {
    const choice = useSettings.getState().backend;
    return engineHost.start(choice === 'auto' ? undefined : choice);
  },
  selectBackend: (choice) => {
    useSettings.getState().setBackend(choice);
    return getState().start();
  },
  refreshCosts: () => engineHost.refreshCosts(),
  recalibrate: () => engineHost.recalibrate(),
}));

engineHost.subscribe((state) => useEngine.setState((s) => ({ ...mirror(), backend: state.engine?.backend ?? s.backend })));
