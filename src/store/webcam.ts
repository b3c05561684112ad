// Mirror of the webcam service (src/app/webcamService.ts); actions are handed to it.

import { create } from 'zustand';
import type { WebcamServiceState } from '../app/webcamService';
import { webcamService } from '../webcamServices';

export type { EnrollState, WebcamStatus } from '../app/webcamService';

export interface WebcamState extends WebcamServiceState {
  /** The view is shown (returns the function to call when it is not any more). */
  connect(): () => void;
  refreshCameras(): Promise<void>;
  selectCamera(deviceId: string): void;
  start(video: HTMLVideoElement): Promise<void>;
  stop(): void;
  setBudget(ms: number): void;
  setThresholdScale(scale: number): void;
  select(track: number | null): void;
  enrollPerson(track: number, identity: string): Promise<void>;
}

export const useWebcamStore = create<WebcamState>()(() => ({
  ...webcamService.state,
  connect: () => webcamService.connect(),
  refreshCameras: () => webcamService.refreshCameras(),
  selectCamera: (deviceId) => webcamService.selectCamera(deviceId),
  start: (video) => webcamService.start(video),
  stop: () => webcamService.stop(),
  setBudget: (ms) => webcamService.setBudget(ms),
  setThresholdScale: (scale) => webcamService.setThresholdScale(scale),
  select: (track) => webcamService.select(track),
  enrollPerson: (track, identity) => webcamService.enrollPerson(track, identity),
}));

webcamService.subscribe((state) => useWebcamStore.setState(state));
