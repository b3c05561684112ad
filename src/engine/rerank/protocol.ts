// Messages between the re-ranking client (main thread) and its host (the worker). Every request carries
// an id that its one reply repeats.
import type { StageKey } from '../types';
import type { GalleryNeighbours, RerankParams } from './kReciprocal';

export type HostMessage =
  | { type: 'gallery'; stage: StageKey; version: string; dim: number; matrix: Float32Array; neighbours: GalleryNeighbours; params: RerankParams }
  | { type: 'query'; stage: StageKey; version: string; query: Float32Array; k: number };

export type HostRequest = HostMessage & { id: number };

export type HostReply =
  | { id: number; type: 'ready'; ms: number }
  | { id: number; type: 'result'; indices: Int32Array; distances: Float32Array; ms: number; recomputedRows: number; outlierColumns: number }
  | { id: number; type: 'error'; message: string };

/** What a Worker, a worker's global scope and a MessagePort have in common. */
export interface MessageEndpoint {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent) => void) | null;
}
