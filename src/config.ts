// The app's defaults in one typed place: budgets, the cost learner, detector sizes, thresholds, the stream
// router's windows, batch sizes. Modules read them from here; options passed in code still override them.
// No imports: the engine, the webcam logic, the services and the UI all depend on this file, never the reverse.

/** Search: the anytime budget per query image. One video frame at 30 fps. */
export const SEARCH = {
  defaultBudgetMs: 33,
  defaultTopK: 10,
  maxTopK: 50,
  /** Quiet time after a burst of setting changes (dragging the budget slider) before searching again. */
  rerunDelayMs: 120,
  /** k-reciprocal re-ranking is offered up to this many gallery entries: its one-time preparation is G×G
   * distance products (≈ 3.5–6.5 s on wasm at 10k, docs/benchmarks.md), beyond which it stops being a
   * search option and becomes a batch job. */
  rerankMaxEntries: 10_000,
} as const;

/** What each engine step costs on this device: measured at start, then learned from every real run. */
export const COSTS = {
  /** Full passes run and thrown away before measuring. */
  warmupRuns: 2,
  /** Measured passes; each step's cost is the median. */
  runs: 7,
  /** Also measure the flip TTA costs (batch of 2) instead of assuming twice the plain ones. */
  measureFlip: true,
  /** Weight of one real run in the running estimate (exponential moving average). */
  learningRate: 0.1,
  /** One observation moves the estimate at most this many times the current estimate, so one GC pause or
   * a backgrounded tab does not wreck the budget decisions; sustained slowness is still learned. */
  maxStepRatio: 4,
  /** Persist the learned costs every this many observed runs (and when the page is hidden). */
  persistEvery: 20,
  /** Planning figure: mean plus this many mean deviations (the webcam plans a frame with it). */
  cautionDeviations: 2,
} as const;

/** The webcam view: one frame's budget covers the detector and every person. */
export const WEBCAM = {
  /** 15 frames/s: on wasm it leaves room after the detector for a stage or two; on WebGPU for everyone. */
  defaultFrameBudgetMs: 66,
  budgetRange: { min: 20, max: 300, step: 1 },
  thresholdScaleRange: { min: 0.5, max: 1.5, step: 0.01 },
  /** Quiet time after a gallery change before the unknown threshold is calibrated again. */
  recalibrateDelayMs: 400,
  /** A complete answer is recomputed on a newer crop, with spare budget only, once it is this many frames
   * old: people turn, or come fully into view after being cut by the frame's edge. */
  refreshAfterFrames: 30,
  /** Crops per enrollment, and frames between two of them (so they show different poses). */
  enrollCrops: 3,
  enrollEvery: 3,
  /** Per person given steps (crop, read-back, search): the first guess in ms, and its learning rate. */
  perPersonInitialMs: 2,
  perPersonLearningRate: 0.2,
} as const;

/** The person detector (MoveNet MultiPose). */
export const DETECTOR = {
  /** Input sizes tried, largest first (the model's native 256 down to 160: below that it misses people of a
   * typical webcam frame). */
  sides: [256, 224, 192, 160],
  minScore: 0.2,
  /** Boxes shorter than this fraction of the frame height are dropped (too small to re-identify). */
  minHeightFraction: 0.15,
  /** Learning rate of the detector's drift from its start-up measurements. */
  loadLearningRate: 0.2,
} as const;

/** Following people from frame to frame (IoU tracker). */
export const TRACKER = {
  /** A detection continues a track when their boxes overlap at least this much (intersection over union). */
  minIou: 0.3,
  /** A track is dropped after this many frames without a matching detection. */
  maxMissed: 5,
} as const;

/** The "unknown" decision. */
export const THRESHOLDS = {
  /** Last resort for a model that states none: distances between L2-normalised embeddings lie in [0, 2],
   * and 1 (about 60° apart) is a neutral middle. */
  fallback: 1,
  /** Entries considered at most when calibrating on the gallery's pairs (subsampled evenly beyond). */
  maxCalibrationEntries: 300,
} as const;

/** Budgeted stream re-ID (DaRe §4). */
export const STREAM = {
  /** Scores kept per stage (sliding window). */
  historySize: 256,
  /** Scores a stage needs before its ranks are trusted; until then it routes like `random`. */
  minHistory: 20,
  /** Queries over which a cost surplus or overrun is paid back (H): smaller tracks B more tightly, larger
   * disturbs the confidence ranking less. */
  budgetHorizon: 8,
  /** Step of the per-stage rate correction. */
  rateGain: 0.02,
  /** At most this many gallery entries act as queries in the app's replay. */
  maxQueries: 1000,
} as const;

/** The gallery. */
export const GALLERY = {
  /** Entries are written to IndexedDB this many at a time while adding (one transaction each). */
  saveBatch: 8,
} as const;

/** The hub client (src/app/hub*): how a device syncs its gallery and sightings with the hub. */
export const HUB = {
  /** Reconnecting after the hub went away: first wait, doubling up to the cap, each wait ±jitter of itself
   * (devices that lost the hub together do not all come back in the same instant). */
  reconnectInitialMs: 500,
  reconnectMaxMs: 30_000,
  reconnectJitter: 0.3,
  /** No message from the hub, not even its heartbeat (every HUB_HEARTBEAT_MS, 15 s), for this long: the
   * socket is dropped as lost and the device reconnects. Over two heartbeats, so one late one is not a loss. */
  heartbeatTimeoutMs: 40_000,
  /** Events in one push (the protocol allows HUB_LIMITS.eventsPerPush), and the size of one push message,
   * well under HUB_LIMITS.messageBytes (an add with its thumbnail is ~15 KB, at most ~90 KB). */
  pushEvents: 50,
  pushBytes: 1024 * 1024,
  /** Thumbnails fetched at the same time from /hub/thumbnails/<id> (in the background, after the entries). */
  thumbnailConcurrency: 4,
  /** A person still in the webcam's view is reported as a sighting again at most this often. */
  sightingIntervalMs: 30_000,
  /** Sightings kept per identity, newest first (older ones are dropped on this device, not on the hub). */
  sightingsPerIdentity: 200,
} as const;
