// Per-stage confidence history: the last `capacity` scores, kept both in arrival order (to know which one
// to drop) and sorted (to rank a new score by binary search). A sliding window rather than a quantile
// sketch: memory is just as bounded (2 × capacity doubles), ranks are exact within the window, and old
// scores age out, so the thresholds follow a stream whose difficulty drifts.

export class ScoreWindow {
  readonly capacity: number;
  private readonly arrivals: Float64Array;
  private readonly sorted: Float64Array;
  private size = 0;
  /** Index in `arrivals` of the oldest score once the window is full. */
  private oldest = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`window capacity ${capacity} is not an integer ≥ 1`);
    this.capacity = capacity;
    this.arrivals = new Float64Array(capacity);
    this.sorted = new Float64Array(capacity);
  }

  get length(): number {
    return this.size;
  }

  /** Adds a score, dropping the oldest one when the window is full. */
  add(score: number): void {
    if (Number.isNaN(score)) throw new RangeError('score is NaN');
    if (this.size === this.capacity) {
      const drop = this.lowerBound(this.arrivals[this.oldest]);
      this.sorted.copyWithin(drop, drop + 1, this.size);
      this.size--;
      this.arrivals[this.oldest] = score;
      this.oldest = (this.oldest + 1) % this.capacity;
    } else {
      this.arrivals[this.size] = score;
    }
    const at = this.upperBound(score);
    this.sorted.copyWithin(at + 1, at, this.size);
    this.sorted[at] = score;
    this.size++;
  }

  /** Share of the window strictly above `score`, with ties counted as a fraction `tieShare` ∈ [0, 1]
   * of themselves (pass a uniform draw to break ties at random). 0 for an empty window. */
  shareAbove(score: number, tieShare: number): number {
    if (this.size === 0) return 0;
    const below = this.lowerBound(score);
    const notAbove = this.upperBound(score);
    return (this.size - notAbove + tieShare * (notAbove - below)) / this.size;
  }

  /** The scores in ascending order (a copy). */
  values(): number[] {
    return Array.from(this.sorted.subarray(0, this.size));
  }

  /** First sorted index whose score is ≥ `score`. */
  private lowerBound(score: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid] < score) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First sorted index whose score is > `score`. */
  private upperBound(score: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid] <= score) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
