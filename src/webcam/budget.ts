// Sharing one frame's time budget between the detector and the people in view.
//
// How it is shared: the budget covers the whole frame. The detector runs first (its cost is measured, not
// estimated); the engine gets what is left. That remainder is handed out one engine part at a time (part =
// the next graph call of one person's pass: a stage, a piece of a long one, or the fusion once all its
// exits are done; engine/parts.ts), always to the person whose answer is least certain: no answer yet
// before any answer, then the one least far along its pass (fewest parts done), then the answer closest to
// the unknown threshold, then the person seen first. A person keeps the features of
// the last part run and resumes from them in a later frame, so parts never repeat and, frame after
// frame, a small budget still carries someone who stays in view to the last stage and the fusion, even
// when a whole exit costs more than a frame leaves. A part is only given when its calibrated cost (plus,
// for a person's first part in the frame, the crop and matching overhead) fits in what is left; a part
// that does not fit for one person may still fit for another (the fusion is cheap). Only when nothing
// fits at all does a person with no answer yet get stage 1 anyway. People whose answer is complete
// (fused) only get parts after everyone else: a refresh on a newer crop, finishing a refresh already
// started before beginning another.

export interface PlanTrack {
  id: number;
  /** Parts already done on this person's current crop: 0 = none … partMs.length = fused. */
  partsDone: number;
  /** Certainty of the current answer (see Decision.margin); null when there is no answer yet. */
  margin: number | null;
  /** Arrival order (the track id works: ids grow). */
  order: number;
  /** The answer is complete and these parts would recompute it on a newer crop. */
  refresh?: boolean;
}

export interface PlanInput {
  budgetMs: number;
  /** Time already spent on this frame (grabbing it, the detector). */
  elapsedMs: number;
  /** Calibrated ms of each part, in pass order (each exit's parts, then the fusion). */
  partMs: readonly number[];
  /** Parts of a pass up to its first answer (stage 1's): what a person with no answer gets when nothing fits. */
  firstAnswerParts?: number;
  /** Per person given any part: cropping, reading the embedding back, matching it. */
  perPersonMs: number;
  tracks: readonly PlanTrack[];
}

export interface Allotment {
  id: number;
  /** Parts to run for this person in this frame (from its partsDone on). */
  parts: number;
  /** Planned time for them, overhead included. */
  ms: number;
  /** Nothing fitted: these parts (up to the person's first answer) run even though the frame overruns. */
  forced?: boolean;
}

/** The plan for one frame, in the order the people should be run (most uncertain first). */
export function planFrame(input: PlanInput): Allotment[] {
  let left = input.budgetMs - input.elapsedMs;
  const state = input.tracks.map((t) => ({ track: t, done: t.partsDone, allot: { id: t.id, parts: 0, ms: 0 }, blocked: false }));
  const order: Allotment[] = [];
  for (;;) {
    const open = state.filter((s) => !s.blocked && s.done < input.partMs.length);
    if (open.length === 0) break;
    open.sort((a, b) => compareUncertainty({ ...a.track, partsDone: a.done }, { ...b.track, partsDone: b.done }));
    const next = open[0];
    const cost = input.partMs[next.done] + (next.allot.parts === 0 ? input.perPersonMs : 0);
    if (cost > left) {
      next.blocked = true;
      continue;
    }
    left -= cost;
    next.done += 1;
    next.allot.parts += 1;
    next.allot.ms += cost;
    if (next.allot.parts === 1) order.push(next.allot);
  }
  if (order.length === 0) {
    // Nothing fits: a person without any answer still gets stage 1 (this frame overruns), because an
    // answer late beats none; people who have an answer keep it.
    const waiting = state.filter((s) => s.done === 0 && !s.track.refresh).sort((a, b) => compareUncertainty(a.track, b.track))[0];
    const parts = input.firstAnswerParts ?? 1;
    if (waiting) order.push({ id: waiting.track.id, parts, ms: input.partMs.slice(0, parts).reduce((s, ms) => s + ms, 0) + input.perPersonMs, forced: true });
  }
  return order;
}

/** Negative when `a` is less certain than `b` (so it should get the next part). */
export function compareUncertainty(a: PlanTrack, b: PlanTrack): number {
  const refresh = Number(a.refresh ?? false) - Number(b.refresh ?? false);
  if (refresh !== 0) return refresh;
  if (a.refresh) return b.partsDone - a.partsDone || a.order - b.order;
  if (a.partsDone !== b.partsDone) return a.partsDone - b.partsDone;
  const ma = a.margin ?? 0;
  const mb = b.margin ?? 0;
  if (ma !== mb) return ma - mb;
  return a.order - b.order;
}

/**
 * Deadlines while running the plan: a person may use their planned time plus whatever earlier people left
 * unused, but never the time still planned for the people after them, nor past the frame's end.
 */
export function deadlineFor(allotments: readonly Allotment[], index: number, frameLeftMs: number): number {
  const reservedAfter = allotments.slice(index + 1).reduce((sum, a) => sum + a.ms, 0);
  return Math.max(0, frameLeftMs - reservedAfter);
}
