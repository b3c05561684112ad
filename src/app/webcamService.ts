// The webcam view's work: camera choice, the running session, frame budget and unknown threshold, the
// people in view and their answers, enrollment. The engine comes from the engine host (which tells this
// service to stop before the engine is disposed); the gallery view, the labelled pairs for the threshold
// and enrollment come from the gallery session. No React, no zustand: the webcam store mirrors `state`.

import type { Engine } from '../engine';
import { WEBCAM } from '../config';
import { CameraError, cameraError, listCameras, type CameraDevice } from '../webcam/camera';
import { DETECTOR_URL, PersonDetector } from '../webcam/detector';
import type { PersonView } from '../webcam/pipeline';
import { WebcamSession } from '../webcam/session';
import type { FrameStatsSnapshot } from '../webcam/stats';
import { calibrateThresholds, type UnknownThresholds } from '../webcam/threshold';
import { labelOf } from '../protocol';
import type { EngineHost } from './engineHost';
import type { GallerySession } from './gallerySession';
import { Observable } from './observable';

export type WebcamStatus = 'idle' | 'starting' | 'running';

export interface EnrollState {
  track: number;
  identity: string;
  phase: 'capturing' | 'saving' | 'done' | 'failed';
  message: string;
}

export interface WebcamServiceState {
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
}

/** Where the frame budget is saved per device (best effort). */
export interface BudgetStorage {
  get(): Promise<number | undefined>;
  set(ms: number): Promise<void>;
}

export interface WebcamServiceDeps {
  host: EngineHost;
  gallery: GallerySession;
  budgetStorage: BudgetStorage;
}

const { budgetRange, thresholdScaleRange } = WEBCAM;
const clampBudget = (ms: number): number => Math.min(budgetRange.max, Math.max(budgetRange.min, Math.round(ms)));

export class WebcamService extends Observable<WebcamServiceState> {
  private session: WebcamSession | null = null;
  private detector: { engine: Engine; detector: Promise<PersonDetector> } | null = null;
  /** The saved budget is read once; a change the user made meanwhile wins over it. */
  private budgetLoaded = false;
  private budgetTouched = false;
  private connections = 0;
  private disconnectGallery: (() => void) | null = null;

  constructor(private readonly deps: WebcamServiceDeps) {
    super({
      status: 'idle',
      error: null,
      cameras: [],
      cameraId: null,
      budgetMs: WEBCAM.defaultFrameBudgetMs,
      thresholdScale: 1,
      thresholds: calibrateThresholds([], null),
      stats: null,
      frameSize: null,
      people: [],
      selectedTrack: null,
      enroll: null,
    });
    // The webcam stops, and its detector is freed, before the engine it runs on is disposed.
    deps.host.onChange({ detach: (engine) => this.detachEngine(engine), attach: async () => undefined });
  }

  /** The view is shown: reads the saved budget and keeps the unknown threshold calibrated on the gallery
   * until the returned function is called. */
  connect(): () => void {
    if (!this.budgetLoaded) {
      this.budgetLoaded = true;
      void this.deps.budgetStorage.get().then(
        (saved) => {
          if (saved !== undefined && !this.budgetTouched) this.update({ budgetMs: clampBudget(saved) });
        },
        () => undefined,
      );
    }
    if (this.connections++ === 0) this.disconnectGallery = this.followGallery();
    return () => {
      if (--this.connections === 0) {
        this.disconnectGallery?.();
        this.disconnectGallery = null;
      }
    };
  }

  private followGallery(): () => void {
    const { gallery, host } = this.deps;
    const recalibrate = () => {
      const model = host.ready()?.model ?? null;
      const entries = gallery.state.entries.filter((e) => e.modelId === model?.modelId).map((e) => ({ ...labelOf(e), embeddings: e.embeddings }));
      this.update({ thresholds: calibrateThresholds(entries, model?.layout ?? null, model?.meta.unknownThresholds) });
    };
    recalibrate();
    // A gallery import changes it once per image: calibrate once it has settled.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const soon = () => {
      clearTimeout(timer);
      timer = setTimeout(recalibrate, WEBCAM.recalibrateDelayMs);
    };
    const unsubscribeGallery = gallery.subscribe((s, prev) => {
      if (s.version !== prev.version) soon();
    });
    const unsubscribeEngine = host.subscribe((s, prev) => {
      if (s.engine !== prev.engine || s.status !== prev.status) soon();
    });
    return () => {
      clearTimeout(timer);
      unsubscribeGallery();
      unsubscribeEngine();
    };
  }

  /** One detector per engine: a new engine (another backend) needs the detector's weights there too. */
  private detectorFor(engine: Engine): Promise<PersonDetector> {
    if (this.detector?.engine !== engine) {
      void this.detector?.detector.then((d) => d.dispose(), () => undefined);
      const loading = { engine, detector: PersonDetector.load(DETECTOR_URL) };
      this.detector = loading;
      loading.detector.catch(() => {
        if (this.detector === loading) this.detector = null;
      });
    }
    return this.detector.detector;
  }

  async refreshCameras(): Promise<void> {
    try {
      const cameras = await listCameras();
      const current = this.state.cameraId;
      this.update({ cameras, cameraId: cameras.some((c) => c.deviceId === current) ? current : (cameras[0]?.deviceId ?? null) });
    } catch (e) {
      this.update({ cameras: [], error: cameraError(e).message });
    }
  }

  selectCamera(deviceId: string): void {
    this.update({ cameraId: deviceId });
  }

  async start(video: HTMLVideoElement): Promise<void> {
    if (this.state.status !== 'idle') return;
    const engine = this.deps.host.ready();
    if (!engine) {
      this.update({ error: 'The re-identification model is not loaded yet: wait for it, then press Start again.' });
      return;
    }
    this.update({ status: 'starting', error: null, stats: null, people: [], selectedTrack: null, enroll: null });
    try {
      const deps = {
        engine,
        detector: await this.detectorFor(engine),
        gallery: () => this.deps.gallery.view(),
        settings: () => {
          const s = this.state;
          return { budgetMs: s.budgetMs, thresholds: s.thresholds, thresholdScale: s.thresholdScale };
        },
      };
      this.session = await WebcamSession.start(video, this.state.cameraId ?? undefined, deps, {
        onFrame: (report, stats) => this.update({ stats, people: report.people, frameSize: report.frame }),
        onError: (e) => {
          this.session = null;
          this.update({ status: 'idle', error: e.message, people: [], selectedTrack: null });
        },
      });
      this.update({ status: 'running', cameraId: this.session.deviceId || this.state.cameraId });
      // Device labels are only readable once access was granted.
      void this.refreshCameras();
    } catch (e) {
      this.session = null;
      this.update({ status: 'idle', error: e instanceof CameraError ? e.message : `Could not start the webcam view: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  stop(): void {
    void this.session?.stop();
    this.session = null;
    this.update({ status: 'idle', people: [], selectedTrack: null });
  }

  setBudget(ms: number): void {
    if (!Number.isFinite(ms)) return;
    this.budgetTouched = true;
    const budgetMs = clampBudget(ms);
    // Per device, like the search budget; best effort when IndexedDB is unusable.
    void this.deps.budgetStorage.set(budgetMs).catch(() => undefined);
    this.update({ budgetMs });
  }

  setThresholdScale(scale: number): void {
    this.update({ thresholdScale: Math.min(thresholdScaleRange.max, Math.max(thresholdScaleRange.min, scale)) });
  }

  /** The engine is about to be disposed: stops the camera (once the frame in flight is done) and frees
   * the detector on its backend. */
  private async detachEngine(engine: Engine): Promise<void> {
    const running = this.session;
    if (running) {
      this.session = null;
      this.update({ status: 'idle', people: [], selectedTrack: null, error: 'The engine was restarted (another backend): press Start again.' });
      await running.stop();
    }
    if (this.detector?.engine === engine) {
      const old = this.detector.detector;
      this.detector = null;
      await old.then((d) => d.dispose(), () => undefined);
    }
  }

  select(track: number | null): void {
    this.update({ selectedTrack: track });
  }

  async enrollPerson(track: number, rawIdentity: string): Promise<void> {
    const identity = rawIdentity.trim();
    if (!identity) {
      this.update({ enroll: { track, identity, phase: 'failed', message: 'Type a name first.' } });
      return;
    }
    const running = this.session;
    if (!running) return;
    this.update({ enroll: { track, identity, phase: 'capturing', message: `Capturing ${identity}: keep them in view…` } });
    try {
      const crops = await running.captureForEnrollment(track);
      this.update({ enroll: { track, identity, phase: 'saving', message: `Adding ${identity} to the gallery…` } });
      await this.deps.gallery.enroll(identity, crops);
      this.update({ enroll: { track, identity, phase: 'done', message: `Enrolled ${identity} (${crops.length} images).` }, selectedTrack: null });
    } catch (e) {
      this.update({ enroll: { track, identity, phase: 'failed', message: `Could not enroll ${identity}: ${e instanceof Error ? e.message : String(e)}` } });
    }
  }
}
