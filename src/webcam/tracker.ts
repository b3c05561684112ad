// Follows people from frame to frame by box overlap (greedy IoU matching), so work done on a person in
// one frame (their deepest embedding so far) carries over to the next.

import { TRACKER } from '../config';
import { iou, type Box } from './geometry';

export interface Detection {
  box: Box;
  score: number;
}

export interface Track {
  id: number;
  box: Box;
  score: number;
  /** Frames this track was matched to a detection, including the first. */
  hits: number;
  /** Consecutive frames without a matching detection; 0 = in view this frame. */
  missed: number;
}

export interface TrackerOptions {
  /** Minimum overlap for a detection to continue a track. */
  minIou: number;
  /** Frames a track survives without a detection (bridges a missed detection) before it is dropped. */
  maxMissed: number;
}

export interface TrackUpdate {
  /** Tracks matched to a detection in this frame. */
  inView: Track[];
  /** Ids of tracks dropped in this frame. */
  ended: number[];
}

export const DEFAULT_TRACKER_OPTIONS: TrackerOptions = { minIou: TRACKER.minIou, maxMissed: TRACKER.maxMissed };

export class IouTracker {
  private tracks: Track[] = [];
  private nextId = 1;

  constructor(private readonly options: TrackerOptions = DEFAULT_TRACKER_OPTIONS) {}

  update(detections: readonly Detection[]): TrackUpdate {
    const pairs: { t: number; d: number; overlap: number }[] = [];
    this.tracks.forEach((track, t) =>
      detections.forEach((det, d) => {
        const overlap = iou(track.box, det.box);
        if (overlap >= this.options.minIou) pairs.push({ t, d, overlap });
      }),
    );
    // Greedy by overlap: enough for a handful of slowly moving people, and deterministic.
    pairs.sort((a, b) => b.overlap - a.overlap);
    const trackTaken = new Set<number>();
    const detTaken = new Set<number>();
    for (const { t, d } of pairs) {
      if (trackTaken.has(t) || detTaken.has(d)) continue;
      trackTaken.add(t);
      detTaken.add(d);
      const track = this.tracks[t];
      track.box = detections[d].box;
      track.score = detections[d].score;
      track.hits += 1;
      track.missed = 0;
    }
    const ended: number[] = [];
    this.tracks = this.tracks.filter((track, t) => {
      if (trackTaken.has(t)) return true;
      track.missed += 1;
      if (track.missed <= this.options.maxMissed) return true;
      ended.push(track.id);
      return false;
    });
    detections.forEach((det, d) => {
      if (!detTaken.has(d)) this.tracks.push({ id: this.nextId++, box: det.box, score: det.score, hits: 1, missed: 0 });
    });
    return { inView: this.tracks.filter((t) => t.missed === 0).map((t) => ({ ...t })), ended };
  }

  reset(): void {
    this.tracks = [];
  }
}
