// Mirror of the stream service (src/app/streamService.ts): stream mode's policy, budget, replay progress
// and last run. Actions are handed to the service.

import { create } from 'zustand';
import type { StreamServiceState } from '../app/streamService';
import type { RoutingPolicy } from '../engine/stream';
import { streamService } from '../services';

export { MAX_STREAM_QUERIES, type StreamRun } from '../app/streamService';

interface StreamState extends StreamServiceState {
  setPolicy(policy: RoutingPolicy): void;
  setBudget(ms: number): void;
  /** Replays the gallery as a stream (no-op before the calibration or while a replay runs). */
  replay(): Promise<void>;
}

export const useStream = create<StreamState>()(() => ({
  ...streamService.state,
  setPolicy: (policy) => streamService.setPolicy(policy),
  setBudget: (ms) => streamService.setBudget(ms),
  replay: () => streamService.replay(),
}));

streamService.subscribe((state) => useStream.setState(state));
