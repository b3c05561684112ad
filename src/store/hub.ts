// Mirror of the hub service (src/app/hubService.ts); actions are handed to it.

import { create } from 'zustand';
import type { HubSighting, HubState } from '../app/hubService';
import { hubService } from '../services';

export type { HubConnection, HubSighting } from '../app/hubService';

interface HubStore extends HubState {
  setCameraName(name: string): Promise<void>;
  leave(): Promise<void>;
  /** The sighting the webcam shows for `identity` (another camera's when there is one). */
  lastSeen(identity: string): HubSighting | undefined;
}

export const useHub = create<HubStore>()(() => ({
  ...hubService.state,
  setCameraName: (name) => hubService.setCameraName(name),
  leave: () => hubService.leave(),
  lastSeen: (identity) => hubService.lastSeen(identity),
}));

hubService.subscribe((state) => useHub.setState(state));
