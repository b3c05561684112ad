// The hub's storage: the append-only event log, the immutable entries (embeddings and thumbnails) and the
// sightings. `HubStore` is kept narrow on purpose: it is what docs/scale.md maps onto a distributed engine.
// `openSqliteHubStore` is the embedded implementation (better-sqlite3, one file, WAL, synchronous=FULL: an
// event acknowledged after `append` returned survives a SIGKILL or a power cut).
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { MergeState } from '../../src/hub/merge.ts';
import { type HubEntry, type HubEvent, type HubStatus, type SequencedEvent } from '../../src/hub/protocol.ts';

export type AppendOutcome =
  | { status: 'stored'; seq: number }
  /** The event id was stored before (at `seq`): nothing changed. */
  | { status: 'replay'; seq: number }
  | { status: 'refused'; reason: string };

/** One entry's embedding of one stage: float16, little-endian. */
export interface StageVector {
  entryId: string;
  halfs: Uint8Array;
}

export interface HubStore {
  /** Made with the store: a new store (its log starting again at 1) is a new hub to devices. */
  readonly hubId: string;
  /** Stores the events in one transaction; returns, per event, what became of it. */
  append(events: readonly HubEvent[]): AppendOutcome[];
  /** Up to `limit` events after `seq`, ascending, in full but for add events' thumbnails. */
  eventsSince(seq: number, limit: number): SequencedEvent[];
  /** A live entry's JPEG thumbnail. */
  thumbnail(entryId: string): Uint8Array | undefined;
  /** The embedding length entries of `modelId` have, or undefined when the hub holds none. */
  dimOf(modelId: string): number | undefined;
  /** Every live entry's `stage` embedding for `modelId` (entries without that stage left out). */
  stageVectors(modelId: string, stage: string): Iterable<StageVector>;
  /** A live entry's identity after every rename. */
  identityOf(entryId: string): string | undefined;
  status(): Omit<HubStatus, 'hubId'>;
  close(): void;
}

/** The order stage embeddings are concatenated in an entry's blob: exits ascending, then fused. */
export function stageOrder(keys: Iterable<string>): string[] {
  const rank = (k: string) => (k === 'fused' ? Number.POSITIVE_INFINITY : Number(k));
  return [...keys].sort((a, b) => rank(a) - rank(b));
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  device TEXT NOT NULL,
  at INTEGER NOT NULL,
  entry_id TEXT NOT NULL,
  -- the event as JSON, less an add's thumbnail and embeddings (those live in entries)
  body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS models (model_id TEXT PRIMARY KEY, dim INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
  id TEXT PRIMARY KEY,
  event_id TEXT NOT NULL,
  model_id TEXT NOT NULL,
  dim INTEGER NOT NULL,
  identity TEXT NOT NULL,
  camera INTEGER,
  camera_name TEXT NOT NULL,
  file_name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  origin_device TEXT NOT NULL,
  -- stage keys in blob order (stageOrder), comma-separated
  stages TEXT NOT NULL,
  -- every stage's float16 embedding, little-endian, concatenated in 'stages' order
  embeddings BLOB NOT NULL
);
-- apart from entries: loading a stage's vectors then never reads thumbnail pages
CREATE TABLE IF NOT EXISTS thumbnails (entry_id TEXT PRIMARY KEY, jpeg BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS entries_by_model ON entries(model_id);
CREATE TABLE IF NOT EXISTS sightings (
  event_id TEXT PRIMARY KEY,
  entry_id TEXT NOT NULL,
  identity TEXT NOT NULL,
  camera_name TEXT NOT NULL,
  distance REAL NOT NULL,
  at INTEGER NOT NULL,
  device TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sightings_by_entry ON sightings(entry_id, at);
`;

interface EventRow {
  seq: number;
  body: string;
  stages: string | null;
  embeddings: Buffer | null;
}

/** Entries kept in the merge view carry no embeddings (they are in SQLite and the vector index): a 1M-entry
 * hub would otherwise hold gigabytes of base64 in memory. */
const NO_EMBEDDINGS: Record<string, string> = Object.freeze({}) as Record<string, string>;

function withoutBlobs(event: HubEvent): HubEvent {
  if (event.kind !== 'add') return event;
  const { thumbnail: _thumbnail, ...entry } = event.entry;
  return { ...event, entry: { ...entry, embeddings: NO_EMBEDDINGS } };
}

function entryIdOf(event: HubEvent): string {
  return event.kind === 'add' ? event.entry.id : event.entryId;
}

function embeddingBlob(entry: HubEntry): { stages: string; blob: Buffer } {
  const keys = stageOrder(Object.keys(entry.embeddings));
  // parseEvent checked every embedding is canonical base64 of `dim` values; a failure here is a caller's bug.
  const parts = keys.map((k) => {
    const bytes = Buffer.from(entry.embeddings[k], 'base64');
    if (bytes.length !== entry.dim * 2) throw new Error(`entry ${entry.id}: stage ${k} was not validated with parseEvent`);
    return bytes;
  });
  return { stages: keys.join(','), blob: Buffer.concat(parts) };
}

export function openSqliteHubStore(file: string): HubStore {
  const db = new Database(file);
  // Only takes effect while the file is new. At SQLite's default 4 KiB, two ~1.5 KB entry rows (or one
  // 2 KB thumbnail) fill a page: half the file would be padding. 16 KiB pages pack them ~90% full.
  db.pragma('page_size = 16384');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(SCHEMA);

  const meta = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  let hubId = meta.get('hubId')?.value;
  if (!hubId) {
    hubId = randomBytes(8).toString('hex');
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('hubId', hubId);
  }

  const q = {
    seqOf: db.prepare<[string], { seq: number }>('SELECT seq FROM events WHERE id = ?'),
    dimOf: db.prepare<[string], { dim: number }>('SELECT dim FROM models WHERE model_id = ?'),
    addModel: db.prepare('INSERT INTO models (model_id, dim) VALUES (?, ?)'),
    entryEvent: db.prepare<[string], { event_id: string }>('SELECT event_id FROM entries WHERE id = ?'),
    insertEvent: db.prepare('INSERT INTO events (id, kind, device, at, entry_id, body) VALUES (?, ?, ?, ?, ?, ?)'),
    insertEntry: db.prepare(
      `INSERT INTO entries (id, event_id, model_id, dim, identity, camera, camera_name, file_name, created_at, origin_device, stages, embeddings)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertThumbnail: db.prepare('INSERT INTO thumbnails (entry_id, jpeg) VALUES (?, ?)'),
    insertSighting: db.prepare('INSERT INTO sightings (event_id, entry_id, identity, camera_name, distance, at, device) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    since: db.prepare<[number, number], EventRow>(
      `SELECT e.seq, e.body, n.stages, n.embeddings FROM events e
       LEFT JOIN entries n ON e.kind = 'add' AND n.id = e.entry_id
       WHERE e.seq > ? ORDER BY e.seq LIMIT ?`,
    ),
    log: db.prepare<[], { seq: number; body: string }>('SELECT seq, body FROM events ORDER BY seq'),
    thumbnail: db.prepare<[string], { jpeg: Buffer }>('SELECT jpeg FROM thumbnails WHERE entry_id = ?'),
    vectors: db.prepare<[string], { id: string; stages: string; dim: number; embeddings: Buffer }>('SELECT id, stages, dim, embeddings FROM entries WHERE model_id = ?'),
  };

  const merge = new MergeState();
  const counts = { head: 0, sightings: 0 };
  const applyToMerge = (event: HubEvent) => {
    if (merge.apply(withoutBlobs(event)).kind === 'sighting') counts.sightings++;
  };
  for (const row of q.log.iterate()) {
    applyToMerge(JSON.parse(row.body) as HubEvent);
    counts.head = row.seq;
  }

  const appendOne = (event: HubEvent): AppendOutcome => {
    const before = q.seqOf.get(event.id);
    if (before) return { status: 'replay', seq: before.seq };
    if (event.kind === 'add') {
      const { entry } = event;
      const dim = q.dimOf.get(entry.modelId)?.dim;
      if (dim !== undefined && dim !== entry.dim) return { status: 'refused', reason: `entry.dim: ${entry.dim} differs from the ${dim} the hub holds for model ${entry.modelId}` };
      const other = q.entryEvent.get(entry.id);
      if (other) return { status: 'refused', reason: `entry ${entry.id} was added before by event ${other.event_id} (entries are immutable)` };
      if (dim === undefined) q.addModel.run(entry.modelId, entry.dim);
      const { stages, blob } = embeddingBlob(entry);
      q.insertEntry.run(entry.id, event.id, entry.modelId, entry.dim, entry.identity, entry.camera, entry.cameraName, entry.fileName, entry.createdAt, event.device, stages, blob);
      const thumbnail = entry.thumbnail === undefined ? null : Buffer.from(entry.thumbnail, 'base64');
      if (thumbnail) q.insertThumbnail.run(entry.id, thumbnail);
    } else if (event.kind === 'sighting') {
      q.insertSighting.run(event.id, event.entryId, event.identity, event.cameraName, event.distance, event.at, event.device);
    }
    const info = q.insertEvent.run(event.id, event.kind, event.device, event.at, entryIdOf(event), JSON.stringify(withoutBlobs(event)));
    return { status: 'stored', seq: Number(info.lastInsertRowid) };
  };
  const appendAll = db.transaction((events: readonly HubEvent[]) => events.map(appendOne));

  return {
    hubId,
    append(events) {
      const outcomes = appendAll(events);
      // Only once the transaction committed: a failed one changed nothing, here either.
      outcomes.forEach((o, i) => {
        if (o.status !== 'stored') return;
        applyToMerge(events[i]);
        counts.head = o.seq;
      });
      return outcomes;
    },
    eventsSince(seq, limit) {
      return q.since.all(seq, limit).map((row) => {
        const event = JSON.parse(row.body) as HubEvent;
        if (event.kind === 'add') {
          if (row.stages === null || row.embeddings === null) throw new Error(`event ${event.id}: its entry row is missing`);
          const blob = row.embeddings;
          const bytesPerStage = event.entry.dim * 2;
          event.entry.embeddings = Object.fromEntries(
            // Node's encoder, not the protocol's portable one: ~50× faster, and the same canonical base64.
            row.stages.split(',').map((k, i) => [k, blob.toString('base64', i * bytesPerStage, (i + 1) * bytesPerStage)]),
          );
        }
        return { ...event, seq: row.seq };
      });
    },
    thumbnail(entryId) {
      if (merge.identityOf(entryId) === undefined) return undefined;
      return q.thumbnail.get(entryId)?.jpeg;
    },
    dimOf(modelId) {
      return q.dimOf.get(modelId)?.dim;
    },
    *stageVectors(modelId, stage) {
      for (const row of q.vectors.iterate(modelId)) {
        if (merge.identityOf(row.id) === undefined) continue;
        const index = row.stages.split(',').indexOf(stage);
        if (index < 0) continue;
        const bytes = row.dim * 2;
        yield { entryId: row.id, halfs: new Uint8Array(row.embeddings.buffer, row.embeddings.byteOffset + index * bytes, bytes) };
      }
    },
    identityOf(entryId) {
      return merge.identityOf(entryId);
    },
    status() {
      const { live, deleted } = merge.counts;
      return { ...counts, entries: live, deleted };
    },
    close() {
      db.close();
    },
  };
}

