// A running webcam: the camera stream in a video element, one pipeline pass per new video frame (a frame
// that arrives while the previous one is still being processed is skipped, never queued), the stats, and
// enrollment captures. No React: the store drives it.

import * as tf from '@tensorflow/tfjs';
import { WEBCAM } from '../config';
import type { Engine, RgbaPixels } from '../engine';
import { cameraError, openCamera, type CameraError, type OpenCamera } from './camera';
import type { PersonDetector } from './detector';
import { WebcamPipeline, type FrameReport, type FrameSettings, type GalleryView } from './pipeline';
import { FrameStats, type FrameStatsSnapshot } from './stats';

export interface SessionDeps {
  engine: Engine;
  detector: PersonDetector;
  gallery: () => GalleryView;
  settings: () => FrameSettings;
}

export interface SessionEvents {
  onFrame(report: FrameReport, stats: FrameStatsSnapshot): void;
  /** The session has stopped by itself: the camera ended, or a frame failed. */
  onError(e: CameraError | Error): void;
}


type VideoWithFrameCallback = HTMLVideoElement & { requestVideoFrameCallback?: (cb: () => void) => number };

export class WebcamSession {
  private stopped = false;
  /** The frame being processed, if any. */
  private inFlight: Promise<void> = Promise.resolve();
  private readonly stats = new FrameStats();

  private constructor(
    private readonly video: VideoWithFrameCallback,
    private readonly camera: OpenCamera,
    private readonly pipeline: WebcamPipeline,
    private readonly deps: SessionDeps,
    private readonly events: SessionEvents,
  ) {}

  static async start(video: HTMLVideoElement, deviceId: string | undefined, deps: SessionDeps, events: SessionEvents): Promise<WebcamSession> {
    let session: WebcamSession | null = null;
    const camera = await openCamera(deviceId, (e) => session?.fail(e));
    try {
      video.muted = true;
      video.playsInline = true;
      video.srcObject = camera.stream;
      try {
        await video.play();
        if (video.videoWidth === 0) await new Promise((resolve) => video.addEventListener('loadeddata', resolve, { once: true }));
      } catch (e) {
        throw cameraError(e);
      }
      const pipeline = new WebcamPipeline({ detector: deps.detector, model: deps.engine.model, calibration: deps.engine.calibration, gallery: deps.gallery });
      // Size the detector for this camera now, not in the first frames' budget.
      await pipeline.prepare({ width: video.videoWidth, height: video.videoHeight });
      session = new WebcamSession(video, camera, pipeline, deps, events);
    } catch (e) {
      camera.stop();
      video.srcObject = null;
      throw e;
    }
    session.schedule();
    return session;
  }

  get deviceId(): string {
    return this.camera.deviceId;
  }

  /** Stops the camera at once; resolves when the frame in flight (if any) is done and the pipeline freed. */
  stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.camera.stop();
      this.video.srcObject = null;
      this.inFlight = this.inFlight.then(() => this.pipeline.dispose());
    }
    return this.inFlight;
  }

  /** RGBA crops of a tracked person, at the model's input size, from the next frames it is in view in. */
  async captureForEnrollment(track: number): Promise<RgbaPixels[]> {
    const tensors = await this.pipeline.captureCrops(track, WEBCAM.enrollCrops, WEBCAM.enrollEvery);
    try {
      return await Promise.all(tensors.map(toRgba));
    } finally {
      tf.dispose(tensors);
    }
  }

  private fail(e: CameraError | Error): void {
    if (this.stopped) return;
    void this.stop();
    this.events.onError(e);
  }

  private schedule(): void {
    if (this.stopped) return;
    const tick = () => {
      this.inFlight = this.tick();
    };
    // requestVideoFrameCallback fires once per new camera frame; requestAnimationFrame is the fallback.
    if (this.video.requestVideoFrameCallback) this.video.requestVideoFrameCallback(tick);
    else requestAnimationFrame(tick);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) {
      try {
        const report = await this.pipeline.process(this.video, this.deps.settings());
        if (this.stopped) return;
        this.events.onFrame(report, this.stats.add(performance.now(), report));
      } catch (e) {
        this.fail(e instanceof Error ? e : new Error(String(e)));
        return;
      }
    }
    this.schedule();
  }
}

async function toRgba(crop: tf.Tensor3D): Promise<RgbaPixels> {
  const [height, width] = crop.shape;
  const bytes = tf.tidy(() => crop.clipByValue(0, 255).toInt());
  try {
    const data = await tf.browser.toPixels(bytes as tf.Tensor3D);
    return { width, height, data };
  } finally {
    bytes.dispose();
  }
}
