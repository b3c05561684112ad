// The webcam's sightings, told to the hub: a person the webcam recognises is reported as soon as it is
// recognised, then again at most once per `intervalMs` while still in view. The limit is per identity, not
// per track: a track lost behind someone and found again a second later is a new track of the same visit,
// and the hub's timeline has no use for one row per frame. No React: it follows the webcam service's state.

import { HUB } from '../config';
import type { PersonView } from '../webcam/pipeline';
import type { Listener } from './observable';

/** The people the webcam has in view (the webcam service is one). */
export interface PeopleSource {
  subscribe(listener: Listener<{ readonly people: readonly PersonView[] }>): () => void;
}

/** Where sightings go (the hub service is one). */
export interface SightingSink {
  recordSighting(sighting: { identity: string; entryId: string; distance: number }): void;
}

export interface SightingReporterOptions {
  intervalMs?: number;
  now?: () => number;
}

export class SightingReporter {
  /** When each identity was last reported. */
  private readonly reported = new Map<string, number>();
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(
    private readonly source: PeopleSource,
    private readonly sink: SightingSink,
    options: SightingReporterOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? HUB.sightingIntervalMs;
    this.now = options.now ?? Date.now;
  }

  /** Reports from now on, until the returned function is called. */
  start(): () => void {
    return this.source.subscribe((state, previous) => {
      if (state.people !== previous.people) this.observe(state.people);
    });
  }

  private observe(people: readonly PersonView[]): void {
    const now = this.now();
    // Two tracks may carry the same identity in one frame: the closer match speaks for both.
    const best = new Map<string, { entryId: string; distance: number }>();
    for (const p of people) {
      const identity = p.decision?.identity;
      const distance = p.decision?.distance;
      if (identity == null || distance == null || p.nearestEntryId === null) continue;
      const seen = best.get(identity);
      if (!seen || distance < seen.distance) best.set(identity, { entryId: p.nearestEntryId, distance });
    }
    for (const [identity, match] of best) {
      const last = this.reported.get(identity);
      // A clock set back does not silence an identity until it catches up.
      if (last !== undefined && now >= last && now - last < this.intervalMs) continue;
      this.reported.set(identity, now);
      this.sink.recordSighting({ identity, ...match });
    }
  }
}
