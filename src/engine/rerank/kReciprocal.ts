// k-reciprocal re-ranking (Zhong, Zheng, Cao & Li, CVPR 2017) of ONE query against a gallery, with the
// gallery-side work done once per gallery version. The reference is training/dare/rerank.py (joint
// query + gallery set, column-max normalised squared Euclidean distances, k1 = 20, k2 = 6, λ = 0.3).
//
// Why this gives the reference's numbers without the (G+1)² matrix: a query changes the joint set only
//  - in its own row and column: its kNN list, and gallery rows whose kNN list it enters;
//  - in the column normalisers max_i d²(i, j), for the columns j it is farther from than any gallery image
//    ("outlier columns"), which reorders those columns in every row's list (handled exactly, with the
//    distances to those columns).
// A row's V reads only which entries are in its own list and in its entries' lists (the first k1 + 1, and
// the first half + 1 for the candidates' reciprocal sets) and the normalisers of what it holds; V' reads
// the V of its first k2. So only rows that can see a changed list or normaliser are recomputed; the
// others, and the inverted index of V', come from the cache. Pure typed arrays: worker and Node.
//
// Departures from training/dare/rerank.py: the joint set is the gallery plus ONE query (the app searches
// one query at a time; the Python evaluation puts all queries in one joint set); sums are accumulated in
// float64 instead of float32; among exactly tied distances the order may differ from numpy's argsort.

export interface RerankParams {
  k1: number;
  k2: number;
  lambda: number;
}

/** The paper's and training/dare/rerank.py's setting. */
export const DEFAULT_RERANK_PARAMS: Readonly<RerankParams> = { k1: 20, k2: 6, lambda: 0.3 };

/** The gallery's own neighbour structure (the G×G product, computed once per gallery version). */
export interface GalleryNeighbours {
  size: number;
  /** Entries per row of `knn`: min(k1 + 1, size). */
  width: number;
  /** Per column j, max_i d²(i, j) over the gallery: the column normaliser without a query. */
  maxD2: Float32Array;
  /** [size, width]: per row, the nearest entries by d²(i, j) / maxD2[j], nearest first (itself first). */
  knn: Int32Array;
}

/** Rows of a sparse matrix (compressed sparse rows). */
export interface SparseRows {
  ptr: Int32Array;
  cols: Int32Array;
  vals: Float32Array;
}

export interface PreparedGallery {
  readonly size: number;
  readonly dim: number;
  readonly params: Readonly<RerankParams>;
  readonly matrix: Float32Array;
  readonly norms: Float32Array;
  readonly maxD2: Float32Array;
  readonly width: number;
  readonly knn: Int32Array;
  readonly knnD2: Float32Array;
  /** V' (V after the k2 expansion) of the gallery alone, by row and by column (the inverted index). */
  readonly expanded: SparseRows;
  readonly expandedByCol: SparseRows;
  /** V of the gallery alone (rows that a query does not touch keep it). */
  readonly v: SparseRows;
}

export interface QueryRerank {
  /** Re-ranked distance to every gallery entry, in gallery order. */
  distances: Float32Array;
  /** Rows whose V, and rows whose V' (V after the k2 expansion), were recomputed for this query
   * (including the query's own): the rest came from the cache. */
  recomputedV: number;
  recomputedRows: number;
  /** Gallery columns whose normaliser the query changed. */
  outlierColumns: number;
}

/** np.around: halves go to the even neighbour (k1 = 5 gives 2, not 3). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function squaredNorms(matrix: Float32Array, dim: number): Float32Array {
  const n = matrix.length / dim;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = i * dim; t < (i + 1) * dim; t++) s += matrix[t] * matrix[t];
    out[i] = s;
  }
  return out;
}

/** ‖a‖² + ‖b‖² − 2a·b, clamped at 0 (as training/dare/metrics.euclidean, squared). */
function squaredDistance(a: Float32Array, ao: number, na: number, b: Float32Array, bo: number, nb: number, dim: number): number {
  let dot = 0;
  for (let t = 0; t < dim; t++) dot += a[ao + t] * b[bo + t];
  return Math.max(0, na + nb - 2 * dot);
}

/** Keeps the `width` smallest (value, index) pairs seen, ascending; ties keep the earlier index first. */
class SmallestK {
  readonly idx: Int32Array;
  readonly val: Float64Array;
  count = 0;
  constructor(readonly width: number) {
    this.idx = new Int32Array(width);
    this.val = new Float64Array(width);
  }
  reset(): void {
    this.count = 0;
  }
  offer(index: number, value: number): void {
    if (this.count === this.width && value >= this.val[this.width - 1]) return;
    let at = this.count < this.width ? this.count++ : this.width - 1;
    while (at > 0 && this.val[at - 1] > value) {
      this.val[at] = this.val[at - 1];
      this.idx[at] = this.idx[at - 1];
      at--;
    }
    this.val[at] = value;
    this.idx[at] = index;
  }
}

/** The gallery's neighbour structure in plain JS (O(G²·d)): for tests and small galleries; the app uses
 * galleryNeighboursOnBackend for the same result from TF.js matMuls. */
export function galleryNeighbours(matrix: Float32Array, dim: number, k1: number): GalleryNeighbours {
  const size = matrix.length / dim;
  const norms = squaredNorms(matrix, dim);
  const maxD2 = new Float32Array(size);
  for (let i = 0; i < size; i++)
    for (let j = i + 1; j < size; j++) {
      const d = squaredDistance(matrix, i * dim, norms[i], matrix, j * dim, norms[j], dim);
      if (d > maxD2[i]) maxD2[i] = d;
      if (d > maxD2[j]) maxD2[j] = d;
    }
  const width = Math.min(k1 + 1, size);
  const knn = new Int32Array(size * width);
  const best = new SmallestK(width);
  for (let i = 0; i < size; i++) {
    best.reset();
    best.offer(i, 0); // itself first, also among exact duplicates
    for (let j = 0; j < size; j++) if (j !== i) best.offer(j, maxD2[j] > 0 ? squaredDistance(matrix, i * dim, norms[i], matrix, j * dim, norms[j], dim) / maxD2[j] : 0);
    knn.set(best.idx, i * width);
  }
  return { size, width, maxD2, knn };
}

/** The joint set as the algorithm sees it: [n, stride] kNN lists, distances and column normalisers. */
interface JointView {
  ranks: Int32Array;
  stride: number;
  d2(i: number, j: number): number;
  normaliser(j: number): number;
}

/** Reused buffers for vRow: stamp marks instead of sets (a row costs no allocation but its result). */
class RowScratch {
  private stamp = 0;
  readonly inExpansion: Int32Array;
  readonly inExtended: Int32Array;
  readonly expansion: Int32Array;
  readonly candidates: Int32Array;
  readonly extended: number[] = [];
  constructor(n: number, stride: number) {
    this.inExpansion = new Int32Array(n);
    this.inExtended = new Int32Array(n);
    this.expansion = new Int32Array(stride);
    this.candidates = new Int32Array(stride);
  }
  next(): number {
    this.extended.length = 0;
    return ++this.stamp;
  }
}

/** Whether `x` is among the first `k` entries of the list starting at `from`. */
function listed(ranks: Int32Array, from: number, k: number, x: number): boolean {
  for (let t = from; t < from + k; t++) if (ranks[t] === x) return true;
  return false;
}

/** The k-reciprocal neighbours of i (its first k + 1 entries that have i among their first k + 1), into
 * `out`; returns how many. */
function kReciprocal(view: JointView, i: number, k: number, out: Int32Array): number {
  const { ranks, stride } = view;
  const kk = Math.min(k + 1, stride);
  let count = 0;
  for (let t = i * stride; t < i * stride + kk; t++) {
    const f = ranks[t];
    if (listed(ranks, f * stride, kk, i)) out[count++] = f;
  }
  return count;
}

/** Row i of V: Gaussian weights of the (expanded) k-reciprocal set, summing to 1. */
function vRow(view: JointView, i: number, k1: number, s: RowScratch): SparseRow {
  const stamp = s.next();
  const expanded = kReciprocal(view, i, k1, s.expansion);
  for (let t = 0; t < expanded; t++) {
    const e = s.expansion[t];
    s.inExpansion[e] = stamp;
    s.inExtended[e] = stamp;
    s.extended.push(e);
  }
  const half = roundHalfEven(k1 / 2);
  for (let t = 0; t < expanded; t++) {
    const count = kReciprocal(view, s.expansion[t], half, s.candidates);
    let shared = 0;
    for (let c = 0; c < count; c++) if (s.inExpansion[s.candidates[c]] === stamp) shared++;
    if (shared > (2 / 3) * count)
      for (let c = 0; c < count; c++) {
        const e = s.candidates[c];
        if (s.inExtended[e] !== stamp) {
          s.inExtended[e] = stamp;
          s.extended.push(e);
        }
      }
  }
  const cols = Int32Array.from(s.extended).sort();
  const vals = new Float32Array(cols.length);
  let sum = 0;
  for (let t = 0; t < cols.length; t++) {
    const e = cols[t];
    const m = view.normaliser(e);
    vals[t] = Math.exp(-(m > 0 ? view.d2(i, e) / m : 0));
    sum += vals[t];
  }
  for (let t = 0; t < vals.length; t++) vals[t] /= sum;
  return { cols, vals };
}

interface SparseRow {
  cols: Int32Array;
  vals: Float32Array;
}

function rowOf(m: SparseRows, i: number): SparseRow {
  return { cols: m.cols.subarray(m.ptr[i], m.ptr[i + 1]), vals: m.vals.subarray(m.ptr[i], m.ptr[i + 1]) };
}

function toSparseRows(rows: readonly SparseRow[]): SparseRows {
  const ptr = new Int32Array(rows.length + 1);
  rows.forEach((r, i) => (ptr[i + 1] = ptr[i] + r.cols.length));
  const cols = new Int32Array(ptr[rows.length]);
  const vals = new Float32Array(ptr[rows.length]);
  rows.forEach((r, i) => {
    cols.set(r.cols, ptr[i]);
    vals.set(r.vals, ptr[i]);
  });
  return { ptr, cols, vals };
}

function transpose(m: SparseRows, columns: number): SparseRows {
  const ptr = new Int32Array(columns + 1);
  for (const c of m.cols) ptr[c + 1]++;
  for (let c = 0; c < columns; c++) ptr[c + 1] += ptr[c];
  const fill = ptr.slice(0, columns);
  const cols = new Int32Array(m.cols.length);
  const vals = new Float32Array(m.cols.length);
  for (let r = 0; r + 1 < m.ptr.length; r++)
    for (let t = m.ptr[r]; t < m.ptr[r + 1]; t++) {
      const at = fill[m.cols[t]]++;
      cols[at] = r;
      vals[at] = m.vals[t];
    }
  return { ptr, cols, vals };
}

/** Local query expansion: the mean of V over the first k2 entries of row i's list (V itself for k2 = 1). */
function expandedRow(ranks: Int32Array, k2: number, vOf: (r: number) => SparseRow, scratch: Float64Array): SparseRow {
  const members = ranks.subarray(0, k2);
  if (k2 === 1) return vOf(members[0]);
  const touched: number[] = [];
  for (const r of members) {
    const { cols, vals } = vOf(r);
    for (let t = 0; t < cols.length; t++) {
      if (scratch[cols[t]] === 0) touched.push(cols[t]);
      scratch[cols[t]] += vals[t];
    }
  }
  touched.sort((a, b) => a - b);
  const cols = Int32Array.from(touched);
  const vals = new Float32Array(cols.length);
  cols.forEach((c, t) => {
    vals[t] = scratch[c] / members.length;
    scratch[c] = 0;
  });
  return { cols, vals };
}

/** The gallery-side cache: its V and V' (and V' by column) as if no query were present. */
export function prepareGallery(matrix: Float32Array, dim: number, neighbours: GalleryNeighbours, params: Readonly<RerankParams> = DEFAULT_RERANK_PARAMS): PreparedGallery {
  const size = matrix.length / dim;
  if (neighbours.size !== size) throw new Error(`neighbours are for ${neighbours.size} entries, the matrix has ${size}`);
  if (neighbours.width !== Math.min(params.k1 + 1, size)) throw new Error(`neighbours have ${neighbours.width} per row, k1 = ${params.k1} needs ${Math.min(params.k1 + 1, size)}`);
  const { width, knn, maxD2 } = neighbours;
  const norms = squaredNorms(matrix, dim);
  const knnD2 = new Float32Array(knn.length);
  for (let i = 0; i < size; i++)
    for (let t = 0; t < width; t++) {
      const j = knn[i * width + t];
      knnD2[i * width + t] = i === j ? 0 : squaredDistance(matrix, i * dim, norms[i], matrix, j * dim, norms[j], dim);
    }
  const view: JointView = {
    ranks: knn,
    stride: width,
    d2: (i, j) => (i === j ? 0 : squaredDistance(matrix, i * dim, norms[i], matrix, j * dim, norms[j], dim)),
    normaliser: (j) => maxD2[j],
  };
  const rowScratch = new RowScratch(size, width);
  const vRows: SparseRow[] = [];
  for (let i = 0; i < size; i++) vRows.push(vRow(view, i, params.k1, rowScratch));
  const v = toSparseRows(vRows);
  const scratch = new Float64Array(size);
  const expRows: SparseRow[] = [];
  for (let i = 0; i < size; i++) expRows.push(expandedRow(knn.subarray(i * width, (i + 1) * width), params.k2, (r) => vRows[r], scratch));
  const expanded = toSparseRows(expRows);
  return { size, dim, params, matrix, norms, maxD2, width, knn, knnD2, expanded, expandedByCol: transpose(expanded, size), v };
}

/** Re-ranked distances of one query (L2-normalised, length dim) to every gallery entry. */
export function rerankQuery(g: PreparedGallery, query: Float32Array): QueryRerank {
  const { size, dim, width, knn, knnD2, matrix, norms, maxD2 } = g;
  const { k1, k2, lambda } = g.params;
  if (query.length !== dim) throw new Error(`query must have ${dim} values, got ${query.length}`);
  if (size === 0) return { distances: new Float32Array(0), recomputedV: 0, recomputedRows: 0, outlierColumns: 0 };
  const q = size; // the query's index in the joint set
  const n = size + 1;
  const qNorm = squaredNorms(query, dim)[0];

  // The query's row and column, and the normalisers it changes.
  const dq = new Float32Array(n);
  let qMax = 0;
  for (let j = 0; j < size; j++) {
    dq[j] = squaredDistance(query, 0, qNorm, matrix, j * dim, norms[j], dim);
    if (dq[j] > qMax) qMax = dq[j];
  }
  const norm = new Float32Array(n);
  const outliers: number[] = [];
  for (let j = 0; j < size; j++) {
    norm[j] = Math.max(maxD2[j], dq[j]);
    if (dq[j] > maxD2[j]) outliers.push(j);
  }
  norm[q] = qMax;
  const value = (d2: number, j: number) => (norm[j] > 0 ? d2 / norm[j] : 0);

  const jointWidth = Math.min(k1 + 1, n);
  const changed = new Map<number, Int32Array>();
  /** Per changed list, the first position that differs. */
  const changedAt = new Map<number, number>();
  const best = new SmallestK(jointWidth);
  best.offer(q, 0); // first, as in the reference where the query comes before the gallery
  for (let j = 0; j < size; j++) best.offer(j, value(dq[j], j));
  changed.set(q, best.idx.slice(0, best.count));
  changedAt.set(q, 0);

  // Gallery rows whose list the query enters or whose order the outlier columns change.
  const outlierD2 = outliers.length > 0 ? new Float32Array(size * outliers.length) : null;
  if (outlierD2)
    for (let i = 0; i < size; i++)
      outliers.forEach((j, t) => (outlierD2[i * outliers.length + t] = i === j ? 0 : squaredDistance(matrix, i * dim, norms[i], matrix, j * dim, norms[j], dim)));
  for (let i = 0; i < size; i++) {
    const old = knn.subarray(i * width, (i + 1) * width);
    const qValue = value(dq[i], q);
    if (!outlierD2 && width === jointWidth && qValue >= value(knnD2[i * width + width - 1], old[width - 1])) continue;
    best.reset();
    for (let t = 0; t < width; t++) best.offer(old[t], value(knnD2[i * width + t], old[t]));
    if (outlierD2) outliers.forEach((j, t) => old.includes(j) || best.offer(j, value(outlierD2[i * outliers.length + t], j)));
    best.offer(q, qValue);
    const next = best.idx.slice(0, best.count);
    const at = next.findIndex((x, t) => x !== old[t]);
    if (at >= 0) {
      changed.set(i, next);
      changedAt.set(i, at);
    }
  }

  // The joint lists, flat: the cached ones (every row has jointWidth entries: a gallery smaller than
  // k1 + 1 gets the query appended to every row, so all its rows are in `changed`).
  const flat = new Int32Array(n * jointWidth);
  if (width === jointWidth) flat.set(knn);
  for (const [i, list] of changed) flat.set(list, i * jointWidth);
  const ranks = (i: number) => flat.subarray(i * jointWidth, (i + 1) * jointWidth);
  // Rows whose V may differ. R(i, k) (kReciprocal) reads which entries are in i's first k + 1, and
  // whether i is in the first k + 1 of each of those; so it changes only for a row whose own first k + 1
  // changed as a set, or for an entry that entered or left the first k + 1 of a row it lists. V[i] reads
  // R(i, k1), R(c, half) for c in its list, and the normalisers of what they hold (outlier columns).
  const half = roundHalfEven(k1 / 2);
  const fullK = Math.min(k1 + 1, jointWidth);
  const halfK = Math.min(half + 1, jointWidth);
  const fullStale = new Uint8Array(n);
  const halfStale = new Uint8Array(n);
  for (const [f, next] of changed) {
    const old = f < size ? knn.subarray(f * width, (f + 1) * width) : new Int32Array(0);
    for (const [k, stale] of [[fullK, fullStale], [halfK, halfStale]] as const) {
      const before = old.subarray(0, k);
      const after = next.subarray(0, k);
      for (const x of [...before.filter((e) => !after.includes(e)), ...after.filter((e) => !before.includes(e))]) {
        stale[f] = 1;
        if (listed(flat, x * jointWidth, k, f)) stale[x] = 1;
      }
    }
  }
  const vStale = fullStale.slice();
  const lists = (marks: Uint8Array, k: number, into: Uint8Array) => {
    for (let i = 0; i < n; i++)
      if (!into[i])
        for (let t = i * jointWidth; t < i * jointWidth + k; t++)
          if (marks[flat[t]]) {
            into[i] = 1;
            break;
          }
  };
  lists(halfStale, fullK, vStale);
  if (outliers.length > 0) {
    const outlier = new Uint8Array(n);
    for (const j of outliers) outlier[j] = 1;
    const near = outlier.slice();
    lists(outlier, halfK, near);
    lists(near, fullK, vStale);
  }

  const view: JointView = {
    ranks: flat,
    stride: jointWidth,
    d2: (i, j) => {
      if (i === j) return 0;
      if (i === q) return dq[j];
      if (j === q) return dq[i];
      return squaredDistance(matrix, i * dim, norms[i], matrix, j * dim, norms[j], dim);
    },
    normaliser: (j) => norm[j],
  };
  const newV = new Map<number, SparseRow>();
  const rowScratch = new RowScratch(n, jointWidth);
  for (let i = 0; i < n; i++) if (vStale[i]) newV.set(i, vRow(view, i, k1, rowScratch));
  const vOf = (r: number) => newV.get(r) ?? rowOf(g.v, r);

  // Rows whose V' may differ: a changed entry or a recomputed V among the first k2 of its list.
  const expStale = new Uint8Array(n);
  const scratch = new Float64Array(n);
  const newExp = new Map<number, SparseRow>();
  for (let i = 0; i < n; i++) {
    const list = ranks(i).subarray(0, k2);
    if ((changedAt.get(i) ?? k2) < k2 || list.some((r) => vStale[r])) {
      expStale[i] = 1;
      newExp.set(i, expandedRow(ranks(i), k2, vOf, scratch));
    }
  }

  // Jaccard distance of the query's V' to every gallery row's V': cached rows through the inverted index,
  // recomputed rows directly.
  const qExp = newExp.get(q) as SparseRow;
  const qDense = new Float32Array(n);
  qExp.cols.forEach((c, t) => (qDense[c] = qExp.vals[t]));
  const shared = new Float64Array(size);
  const byCol = g.expandedByCol;
  qExp.cols.forEach((c, t) => {
    if (c >= size) return;
    const vq = qExp.vals[t];
    for (let s = byCol.ptr[c]; s < byCol.ptr[c + 1]; s++) {
      const r = byCol.cols[s];
      if (!expStale[r]) shared[r] += Math.min(vq, byCol.vals[s]);
    }
  });
  for (const [r, row] of newExp) {
    if (r === q) continue;
    for (let t = 0; t < row.cols.length; t++) {
      const vq = qDense[row.cols[t]];
      if (vq > 0) shared[r] += Math.min(vq, row.vals[t]);
    }
  }
  const distances = new Float32Array(size);
  for (let j = 0; j < size; j++) {
    const jaccard = 1 - shared[j] / (2 - shared[j]);
    distances[j] = jaccard * (1 - lambda) + value(dq[j], j) * lambda;
  }
  return { distances, recomputedV: newV.size, recomputedRows: newExp.size, outlierColumns: outliers.length };
}
