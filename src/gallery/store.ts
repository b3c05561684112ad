// Gallery persistence in IndexedDB through idb-keyval, in a database of its own: entries are stored
// as they are (Float32Array and Blob survive structured clone), keyed by id.
import { clear, createStore, del, delMany, entries, promisifyRequest, type UseStore } from 'idb-keyval';
import { entryProblem } from './entryCheck';
import { GalleryStorageError, type StorageOperation } from './errors';
import type { GalleryEntry } from './types';

// One database per idb-keyval store: idb-keyval creates its object store only when the database is
// first created, so a second store in the same database would never exist.
export const GALLERY_DB = 'anytime-reid-gallery';
const GALLERY_STORE = 'entries';

export interface LoadedGallery {
  /** Valid entries, oldest first (addedAt, then id). */
  entries: GalleryEntry[];
  /** Keys of stored records that are not valid entries (left in storage, not returned), with why. */
  unreadable: { key: string; problem: string }[];
}

/** The persisted gallery. Every method rejects with a {@link GalleryStorageError} only. */
export interface GalleryStore {
  /** Everything stored. */
  load(): Promise<LoadedGallery>;
  /** Stores a batch in one transaction: all of it or, on any failure, none of it (what was already
   * stored is untouched). An entry whose id is already stored replaces it (re-embedding uses this).
   * Entries are checked first: a malformed one, or an id twice in the batch, rejects the batch with
   * kind 'invalid'. */
  addMany(entries: readonly GalleryEntry[]): Promise<void>;
  /** Replaces the whole gallery with `entries` in one transaction (import "replace"): on failure the
   * old gallery is kept as it was. */
  replaceAll(entries: readonly GalleryEntry[]): Promise<void>;
  /** Deletes one entry (no error if it does not exist). */
  remove(id: string): Promise<void>;
  /** Deletes entries in one transaction (ids not stored are no error). */
  removeMany(ids: readonly string[]): Promise<void>;
  /** Deletes everything. */
  clear(): Promise<void>;
  count(): Promise<number>;
}

/** Opens (lazily, on first use) the gallery database. `dbName` is for tests and side-by-side galleries. */
export function openGalleryStore(dbName = GALLERY_DB): GalleryStore {
  const store = createStore(dbName, GALLERY_STORE);
  // async, so that synchronous throws (no `indexedDB` global, a refused batch) reject like the rest.
  const guard = async <T>(operation: StorageOperation, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (e) {
      throw GalleryStorageError.from(e, operation);
    }
  };

  return {
    load: () =>
      guard('load', async () => {
        const loaded: LoadedGallery = { entries: [], unreadable: [] };
        for (const [key, value] of await entries<IDBValidKey, unknown>(store)) {
          const problem = entryProblem(value);
          if (problem) loaded.unreadable.push({ key: String(key), problem });
          else loaded.entries.push({ ...(value as GalleryEntry), cameraName: (value as Partial<GalleryEntry>).cameraName ?? null });
        }
        loaded.entries.sort((a, b) => a.addedAt - b.addedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        return loaded;
      }),
    addMany: (batch) => guard('save', () => putBatch(store, checkBatch(batch), false)),
    replaceAll: (batch) => guard('save', () => putBatch(store, checkBatch(batch), true)),
    remove: (id) => guard('delete', () => del(id, store)),
    removeMany: (ids) => guard('delete', () => (ids.length ? delMany([...ids], store) : Promise.resolve())),
    clear: () => guard('clear', () => clear(store)),
    count: () => guard('count', () => store('readonly', (os) => promisifyRequest(os.count()))),
  };
}

function checkBatch(batch: readonly GalleryEntry[]): readonly GalleryEntry[] {
  const seen = new Set<string>();
  for (const entry of batch) {
    const problem = entryProblem(entry);
    const label = typeof entry?.id === 'string' && entry.id !== '' ? `entry ${entry.id}` : 'an entry';
    if (problem) throw new GalleryStorageError('invalid', 'save', `Nothing was saved: ${label} ${problem}.`);
    if (seen.has(entry.id)) throw new GalleryStorageError('invalid', 'save', `Nothing was saved: id ${entry.id} appears twice in the batch.`);
    seen.add(entry.id);
  }
  return batch;
}

// idb-keyval's setMany is atomic only for errors IndexedDB reports asynchronously: a put() that throws
// (DataCloneError) would leave the earlier puts of the batch to commit. Aborting here keeps it whole.
function putBatch(store: UseStore, batch: readonly GalleryEntry[], clearFirst: boolean): Promise<void> {
  if (batch.length === 0 && !clearFirst) return Promise.resolve();
  return store('readwrite', (os) => {
    const tx = os.transaction;
    try {
      if (clearFirst) os.clear();
      for (const entry of batch) os.put(entry, entry.id);
    } catch (e) {
      tx.abort();
      throw e;
    }
    return promisifyRequest(tx);
  });
}
