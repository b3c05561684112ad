// Webcam view state: camera choice, the running session, frame budget and unknown threshold, the people
// in view and their answers, enrollment. The app's engine and gallery reach it through a WebcamHost
// (src/ui/webcam/host.ts adapts the app's stores), so this store does not depend on how they are kept.

import { create } from 'zustand';
import type { Engine } from '../engine';
import { CameraError, cameraError, listCameras, type CameraDevice } from '../webcam/camera';
import { DETECTOR_URL, PersonDetector } from '../webcam/detector';
import type { GalleryView, PersonView } from '../webcam/pipeline';
import type { RgbaPixels } from '../engine';
import { WebcamSession } from '../webcam/session';
import type { FrameStatsSnapshot } from '../webcam/stats';
import { quietly } from './quietly';
import { settingsStorage } from './settings';
import { calibrateThresholds, type LabelledEmbeddings, type StageThresholds, type UnknownThresholds } from '../webcam/threshold';

export interface WebcamHost {
  /** The app's engine once it is ready, else null. */
  engine(): Engine | null;
  /** The gallery for matching (its version changes on every addition or removal). */
  gallery(): GalleryView;
  /** Gallery entries with their identities, for calibrating the unknown threshold. */
  labelledEmbeddings(): LabelledEmbeddings[];
  /** The loaded model's own unknown thresholds, if it states them. */
  modelThresholds(): StageThresholds | undefined;
  /** Adds crops (at the model's input size) to the gallery as `identity`, embedded at every stage. */
  enroll(identity: string, crops: RgbaPixels[]): Promise<void>;
  /** Calls `listener` whenever the gallery or the model changes; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

export type WebcamStatus = 'idle' | 'starting' | 'running';

export interface EnrollState {
  track: number;
  identity: string;
  phase: 'capturing' | 'saving' | 'done' | 'failed';
  message: string;
}

export const BUDGET_RANGE = { min: 20, max: 300, step: 1 } as const;
export const THRESHOLD_SCALE_RANGE = { min: 0.5, max: 1.5, step: 0.01 } as const;
/** 15 frames/s: on wasm it leaves room after the detector for a stage or two; on WebGPU for everyone. */
export const DEFAULT_FRAME_BUDGET_MS = 66;

export interface WebcamState {
  status: WebcamStatus;
  /** Why the camera is not running (denied, none, disconnected…), or null. */
  error: string | null;
  cameras: CameraDevice[];
  cameraId: string | null;
  /** The whole frame's budget: detector plus every person. */
  budgetMs: number;
  /** The user's adjustment of the calibrated thresholds: 1 = as calibrated. */
  thresholdScale: number;
  thresholds: UnknownThresholds;
  stats: FrameStatsSnapshot | null;
  frameSize: { width: number; height: number } | null;
  people: PersonView[];
  selectedTrack: number | null;
  enroll: EnrollState | null;

  connect(host: WebcamHost): () => void;
  refreshCameras(): Promise<void>;
  selectCamera(deviceId: string): void;
  start(video: HTMLVideoElement): Promise<void>;
  stop(): void;
  setBudget(ms: number): void;
  setThresholdScale(scale: number): void;
  /** The engine is about to be disposed: stops the camera (once the frame in flight is done) and frees
   * the detector on its backend. */
  detachEngine(engine: Engine): Promise<void>;
  select(track: number | null): void;
  enrollPerson(track: number, identity: string): Promise<void>;
}

/** Quiet time after a gallery change before the unknown threshold is calibrated again. */
const RECALIBRATE_DELAY_MS = 400;

let host: WebcamHost | null = null;
/** The saved budget is read once; a change the user made meanwhile wins over it. */
let budgetLoaded = false;
let budgetTouched = false;

const clampBudget = (ms: number): number => Math.min(BUDGET_RANGE.max, Math.max(BUDGET_RANGE.min, Math.round(ms)));
let session: WebcamSession | null = null;
let detector: { engine: Engine; detector: Promise<PersonDetector> } | null = null;

/** One detector per engine: a new engine (another backend) needs the detector's weights there too. */
function detectorFor(engine: Engine): Promise<PersonDetector> {
  if (detector?.engine !== engine) {
    void detector?.detector.then((d) => d.dispose(), () => undefined);
    detector = { engine, detector: PersonDetector.load(DETECTOR_URL) };
    detector.detector.catch(() => {
      detector = null;
    });
  }
  return detector.detector;
}

export const useWebcamStore = create<WebcamState>()((set, get) => ({
  status: 'idle',
  error: null,
  cameras: [],
  cameraId: null,
  budgetMs: DEFAULT_FRAME_BUDGET_MS,
  thresholdScale: 1,
  thresholds: calibrateThresholds([]),
  stats: null,
  frameSize: null,
  people: [],
  selectedTrack: null,
  enroll: null,

  connect(h) {
    host = h;
    if (!budgetLoaded) {
      budgetLoaded = true;
      void quietly(() => settingsStorage.get('webcamBudgetMs'), undefined).then((saved) => {
        if (saved !== undefined && !budgetTouched) set({ budgetMs: clampBudget(saved) });
      });
    }
    const recalibrate = () => set({ thresholds: calibrateThresholds(h.labelledEmbeddings(), h.modelThresholds()) });
    recalibrate();
    // A gallery import changes it once per image: calibrate once it has settled.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = h.subscribe(() => {
      clearTimeout(timer);
      timer = setTimeout(recalibrate, RECALIBRATE_DELAY_MS);
    });
    return () => {
      clearTimeout(timer);
      unsubscribe();
      if (host === h) host = null;
    };
  },

  async refreshCameras() {
    try {
      const cameras = await listCameras();
      const current = get().cameraId;
      set({ cameras, cameraId: cameras.some((c) => c.deviceId === current) ? current : (cameras[0]?.deviceId ?? null) });
    } catch (e) {
      set({ cameras: [], error: cameraError(e).message });
    }
  },

  selectCamera(deviceId) {
    set({ cameraId: deviceId });
  },

  async start(video) {
    if (get().status !== 'idle') return;
    const engine = host?.engine() ?? null;
    if (!host || !engine) {
      set({ error: 'The re-identification model is not loaded yet: wait for it, then press Start again.' });
      return;
    }
    const h = host;
    set({ status: 'starting', error: null, stats: null, people: [], selectedTrack: null, enroll: null });
    try {
      const deps = {
        engine,
        detector: await detectorFor(engine),
        gallery: () => h.gallery(),
        settings: () => {
          const s = get();
          return { budgetMs: s.budgetMs, thresholds: s.thresholds, thresholdScale: s.thresholdScale };
        },
      };
      session = await WebcamSession.start(video, get().cameraId ?? undefined, deps, {
        onFrame: (report, stats) => set({ stats, people: report.people, frameSize: report.frame }),
        onError: (e) => {
          session = null;
          set({ status: 'idle', error: e.message, people: [], selectedTrack: null });
        },
      });
      set({ status: 'running', cameraId: session.deviceId || get().cameraId });
      // Device labels are only readable once access was granted.
      void get().refreshCameras();
    } catch (e) {
      session = null;
      set({ status: 'idle', error: e instanceof CameraError ? e.message : `Could not start the webcam view: ${e instanceof Error ? e.message : String(e)}` });
    }
  },

  stop() {
    void session?.stop();
    session = null;
    set({ status: 'idle', people: [], selectedTrack: null });
  },

  setBudget(ms) {
    if (!Number.isFinite(ms)) return;
    budgetTouched = true;
    const budgetMs = clampBudget(ms);
    // Per device, like the search budget; best effort when IndexedDB is unusable.
    void quietly(() => settingsStorage.set('webcamBudgetMs', budgetMs), undefined);
    set({ budgetMs });
  },

  setThresholdScale(scale) {
    set({ thresholdScale: Math.min(THRESHOLD_SCALE_RANGE.max, Math.max(THRESHOLD_SCALE_RANGE.min, scale)) });
  },

  async detachEngine(engine) {
    const running = session;
    if (running) {
      session = null;
      set({ status: 'idle', people: [], selectedTrack: null, error: 'The engine was restarted (another backend): press Start again.' });
      await running.stop();
    }
    if (detector?.engine === engine) {
      const old = detector.detector;
      detector = null;
      await old.then((d) => d.dispose(), () => undefined);
    }
  },

  select(track) {
    set({ selectedTrack: track });
  },

  async enrollPerson(track, rawIdentity) {
    const identity = rawIdentity.trim();
    if (!identity) {
      set({ enroll: { track, identity, phase: 'failed', message: 'Type a name first.' } });
      return;
    }
    const running = session;
    if (!running || !host) return;
    const h = host;
    set({ enroll: { track, identity, phase: 'capturing', message: `Capturing ${identity}: keep them in view…` } });
    try {
      const crops = await running.captureForEnrollment(track);
      set({ enroll: { track, identity, phase: 'saving', message: `Adding ${identity} to the gallery…` } });
      await h.enroll(identity, crops);
      set({ enroll: { track, identity, phase: 'done', message: `Enrolled ${identity} (${crops.length} images).` }, selectedTrack: null });
    } catch (e) {
      set({ enroll: { track, identity, phase: 'failed', message: `Could not enroll ${identity}: ${e instanceof Error ? e.message : String(e)}` } });
    }
  },
}));
