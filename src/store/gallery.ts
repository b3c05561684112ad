// The gallery: entries persisted in IndexedDB (src/gallery), embedded with the engine, searchable through a
// GalleryIndex on the engine's backend. Adding images, deleting, clearing, export and import live here.
//
// Nothing is lost to a storage failure: entries IndexedDB refuses (quota, storage disabled) stay in the
// gallery for this tab, are counted as unsaved, and can still be exported.

import { create } from 'zustand';
import { GalleryIndex, type Engine, type Match, type StageId, type StageKey } from '../engine';
import {
  exportFileName,
  exportGallery,
  GalleryStorageError,
  importGallery,
  openGalleryStore,
  parseMarketName,
  type GalleryEntry,
  type ImportedGallery,
  type StorageOperation,
} from '../gallery';
import { decodeImage } from '../input';
import { downloadBlob } from './download';
import { onEngineChange, useEngine } from './engine';
import { newEntryId } from './ids';
import { failureMessage, readModelImage } from './images';
import { reportError, reportNote } from './notices';
import { yieldToUi } from './yieldToUi';

export interface GalleryJob {
  kind: 'add' | 'import' | 'reembed';
  done: number;
  total: number;
  failed: number;
}

interface GalleryState {
  /** Oldest first. */
  entries: GalleryEntry[];
  /** Bumped on every change (searches made against an older version are stale). */
  version: number;
  loaded: boolean;
  /** False when IndexedDB is unusable: the gallery then lives in this tab only. */
  persistent: boolean;
  /** Ids of entries IndexedDB refused to store. */
  unsaved: ReadonlySet<string>;
  job: GalleryJob | null;
  /** Identity typed by the user for the next upload (overrides Market-1501 names when set). */
  typedIdentity: string;
  /** What the last clear removed, until undone or replaced by another clear. */
  cleared: GalleryEntry[] | null;

  setTypedIdentity(identity: string): void;
  load(): Promise<void>;
  /** Decodes, embeds (all five embeddings) and stores each image; bad files are reported and skipped.
   * The identity is `options.identity`, else the typed one, else read from each Market-1501 file name. */
  addFiles(files: readonly File[], options?: { identity?: string }): Promise<void>;
  /** Adds entries that are already embedded (webcam enrollment). */
  addEntries(entries: readonly GalleryEntry[]): Promise<void>;
  remove(id: string): Promise<void>;
  clear(): Promise<void>;
  undoClear(): Promise<void>;
  exportGallery(): void;
  /** Adds the entries of an exported file (or, with `replace`, replaces the gallery with them). */
  importGallery(file: File, replace: boolean): Promise<void>;
}

const storage = openGalleryStore();

/** Entries are written to IndexedDB this many at a time while adding (one transaction each). */
const SAVE_BATCH = 8;

/** The index lives on `indexEngine`'s backend; null while no engine is attached. */
let index: GalleryIndex | null = null;
let indexEngine: Engine | null = null;

/** Gallery jobs run one at a time, in order. A job never waits for the engine (its attach runs here too). */
let work: Promise<void> = Promise.resolve();
function enqueue(job: () => Promise<void>): Promise<void> {
  work = work.then(job, job);
  return work;
}

const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);

export const useGallery = create<GalleryState>()((set, get) => {
  /** Applies a new list of entries (and which of them are unsaved). */
  const change = (entries: GalleryEntry[], unsaved: ReadonlySet<string>) => set({ entries, unsaved, version: get().version + 1 });

  const storageFailed = (e: unknown, operation: StorageOperation): GalleryStorageError => {
    const err = GalleryStorageError.from(e, operation);
    if (err.kind === 'unavailable') set({ persistent: false });
    return err;
  };

  /** Stores a batch of entries already in memory; when IndexedDB refuses, they stay unsaved, and the
   * user is told how to keep them. */
  const persist = async (batch: readonly GalleryEntry[]): Promise<void> => {
    if (batch.length === 0) return;
    if (get().persistent) {
      try {
        await storage.addMany(batch);
        const unsaved = new Set(get().unsaved);
        for (const e of batch) unsaved.delete(e.id);
        set({ unsaved });
        return;
      } catch (e) {
        const n = batch.length;
        reportError(
          `${storageFailed(e, 'save').message} The ${n} ${plural(n, 'image', 'images')} concerned ${plural(n, 'stays', 'stay')} in the gallery for this tab: export the gallery to keep ${plural(n, 'it', 'them')}.`,
        );
      }
    }
    set({ unsaved: new Set([...get().unsaved, ...batch.map((e) => e.id)]) });
  };

  /** Puts entries in memory and in the index (replacing same ids), then stores them. */
  const addToGallery = async (added: readonly GalleryEntry[]): Promise<void> => {
    if (added.length === 0) return;
    const ids = new Set(added.map((e) => e.id));
    addToIndex(added);
    change([...get().entries.filter((e) => !ids.has(e.id)), ...added], new Set([...get().unsaved, ...ids]));
    await persist(added);
  };

  const addImages = async (engine: Engine, files: readonly File[], typedIdentity: string): Promise<void> => {
    let batch: GalleryEntry[] = [];
    let failed = 0;
    set({ job: { kind: 'add', done: 0, total: files.length, failed } });
    for (const [i, file] of files.entries()) {
      const name = file.webkitRelativePath || file.name;
      try {
        // Decoded first: a file that is no image is refused for that, whatever its name.
        const image = await readModelImage(file, engine);
        const parsed = parseMarketName(file.name);
        const identity = typedIdentity || parsed?.identity;
        if (!identity) {
          throw new Error('its name is not a Market-1501 name (like 0002_c1s1_000451_03.jpg), so its identity is unknown. Type an identity, then add it again.');
        }
        const entry: GalleryEntry = {
          id: newEntryId(),
          identity,
          camera: typedIdentity ? null : (parsed?.camera ?? null),
          fileName: name,
          thumbnail: image.thumbnail,
          embeddings: await engine.runner.embedAll(image.pixels),
          modelId: engine.model.modelId,
          addedAt: Date.now(),
        };
        addToIndex([entry]);
        change([...get().entries, entry], new Set([...get().unsaved, entry.id]));
        batch.push(entry);
      } catch (e) {
        failed++;
        reportError(failureMessage('Not added to the gallery', name, e));
      }
      if (batch.length >= SAVE_BATCH) {
        await persist(batch);
        batch = [];
      }
      set({ job: { kind: 'add', done: i + 1, total: files.length, failed } });
      await yieldToUi();
    }
    await persist(batch);
    set({ job: null });
  };

  return {
    entries: [],
    version: 0,
    loaded: false,
    persistent: true,
    unsaved: new Set(),
    job: null,
    typedIdentity: '',
    cleared: null,

    setTypedIdentity: (typedIdentity) => set({ typedIdentity }),

    load: () =>
      enqueue(async () => {
        try {
          const { entries, unreadable } = await storage.load();
          change(entries, new Set());
          if (unreadable.length) {
            const n = unreadable.length;
            reportError(`${n} saved gallery ${plural(n, 'entry is', 'entries are')} unreadable and ${plural(n, 'was', 'were')} skipped (${unreadable[0].problem}).`);
          }
        } catch (e) {
          reportError(storageFailed(e, 'load').message);
        }
        set({ loaded: true });
      }),

    addFiles: async (files, options = {}) => {
      const list = [...files];
      if (list.length === 0) return;
      const typedIdentity = (options.identity ?? get().typedIdentity).trim();
      const engine = await readyEngine();
      if (!engine) {
        const n = list.length;
        reportError(`The ${n} ${plural(n, 'image was', 'images were')} not added: the model is not loaded. Retry loading it, then add ${plural(n, 'it', 'them')} again.`);
        return;
      }
      return enqueue(() => addImages(engine, list, typedIdentity));
    },

    addEntries: (entries) => enqueue(() => addToGallery(entries)),

    remove: (id) =>
      enqueue(async () => {
        const entry = get().entries.find((e) => e.id === id);
        if (!entry) return;
        if (get().persistent && !get().unsaved.has(id)) {
          try {
            await storage.remove(id);
          } catch (e) {
            reportError(`${entry.fileName} was not deleted: ${storageFailed(e, 'delete').message}`);
            return;
          }
        }
        index?.remove(id);
        const unsaved = new Set(get().unsaved);
        unsaved.delete(id);
        change(
          get().entries.filter((e) => e.id !== id),
          unsaved,
        );
      }),

    clear: () =>
      enqueue(async () => {
        const removed = get().entries;
        if (removed.length === 0) return;
        if (get().persistent) {
          try {
            await storage.clear();
          } catch (e) {
            reportError(`The gallery was not cleared: ${storageFailed(e, 'clear').message}`);
            return;
          }
        }
        index?.clear();
        change([], new Set());
        set({ cleared: removed });
      }),

    undoClear: () =>
      enqueue(async () => {
        const restored = get().cleared;
        set({ cleared: null });
        if (restored) await addToGallery(restored);
      }),

    exportGallery: () => {
      exportGallery(get().entries).then(
        (blob) => downloadBlob(blob, exportFileName()),
        (e: unknown) => reportError(`The gallery could not be exported: ${e instanceof Error ? e.message : String(e)}`),
      );
    },

    importGallery: (file, replace) =>
      enqueue(async () => {
        set({ job: { kind: 'import', done: 0, total: 1, failed: 0 } });
        try {
          let imported: ImportedGallery;
          try {
            imported = await importGallery(file, { expectedModelId: indexEngine?.model.modelId });
          } catch (e) {
            // Refused as a whole before anything was touched.
            reportError(`${file.name} was not imported, the gallery is unchanged: ${e instanceof Error ? e.message : String(e)}`);
            return;
          }
          const n = imported.entries.length;
          if (imported.foreignModelEntries > 0) {
            reportNote(`${file.name}: ${imported.foreignModelEntries} of ${n} entries were embedded by another model; they are embedded again from their thumbnails.`);
          }
          if (replace) {
            if (get().persistent) {
              try {
                await storage.replaceAll(imported.entries);
              } catch (e) {
                reportError(`${file.name} was not imported, the gallery is unchanged: ${storageFailed(e, 'save').message}`);
                return;
              }
            }
            change(imported.entries, get().persistent ? new Set() : new Set(imported.entries.map((e) => e.id)));
          } else {
            const ids = new Set(imported.entries.map((e) => e.id));
            change([...get().entries.filter((e) => !ids.has(e.id)), ...imported.entries], new Set([...get().unsaved, ...ids]));
            await persist(imported.entries);
          }
          if (indexEngine) await syncIndex(indexEngine);
        } catch (e) {
          reportError(`${file.name} was not imported: ${e instanceof Error ? e.message : String(e)}`);
        } finally {
          set({ job: null });
        }
      }),
  };
});

/** The engine once it is ready (gallery index built); null if it failed to load. */
function readyEngine(): Promise<Engine | null> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      const { status, engine } = useEngine.getState();
      if (status === 'ready' && engine) resolve(engine);
      else if (status === 'error') resolve(null);
      else return false;
      return true;
    };
    if (check()) return;
    const unsubscribe = useEngine.subscribe(() => {
      if (check()) unsubscribe();
    });
  });
}

/** Adds entries made by the attached engine's model to the index (others wait for re-embedding). */
function addToIndex(entries: readonly GalleryEntry[]): void {
  if (!indexEngine) return;
  const modelId = indexEngine.model.modelId;
  const current = entries.filter((e) => e.modelId === modelId);
  if (current.length === 0) return;
  index ??= new GalleryIndex({ dim: current[0].embeddings['1'].length });
  index.addMany(current);
}

/** Rebuilds the index on `engine`'s backend, first re-embedding (from their thumbnails) the entries
 * another model produced. */
async function syncIndex(engine: Engine): Promise<void> {
  index?.dispose();
  index = null;
  indexEngine = engine;
  const stale = useGallery.getState().entries.filter((e) => e.modelId !== engine.model.modelId);
  if (stale.length > 0) await reembed(engine, stale);
  addToIndex(useGallery.getState().entries);
  useGallery.setState((s) => ({ version: s.version + 1 }));
}

async function reembed(engine: Engine, stale: readonly GalleryEntry[]): Promise<void> {
  const { height, width } = engine.model.meta.input;
  const setJob = (done: number, failed: number) => useGallery.setState({ job: done < stale.length ? { kind: 'reembed', done, total: stale.length, failed } : null });
  const updated = new Map<string, GalleryEntry>();
  let failed = 0;
  setJob(0, 0);
  for (const [i, entry] of stale.entries()) {
    try {
      const image = await decodeImage(entry.thumbnail, { maxSide: Math.max(height, width) });
      updated.set(entry.id, { ...entry, embeddings: await engine.runner.embedAll(image.pixels), modelId: engine.model.modelId });
    } catch (e) {
      failed++;
      reportError(failureMessage('Not embedded with the current model (the entry stays in the gallery but is not searched)', entry.fileName, e));
    }
    setJob(i + 1, failed);
    await yieldToUi();
  }
  const { entries, unsaved, persistent } = useGallery.getState();
  useGallery.setState({ entries: entries.map((e) => updated.get(e.id) ?? e) });
  const toSave = [...updated.values()].filter((e) => !unsaved.has(e.id));
  if (persistent && toSave.length > 0) {
    try {
      await storage.addMany(toSave);
    } catch (e) {
      reportError(`The re-embedded entries were not saved (they are embedded again on the next load): ${GalleryStorageError.from(e, 'save').message}`);
    }
  }
}

onEngineChange({
  // Waits for the running gallery job: it may still be embedding with this engine.
  detach: (engine) =>
    enqueue(async () => {
      if (indexEngine !== engine) return;
      index?.dispose();
      index = null;
      indexEngine = null;
    }),
  attach: (engine) => enqueue(() => syncIndex(engine)),
});

/** Ranked gallery matches for one stage's embedding (nothing while no index is built). */
export async function searchGalleryStage(stage: StageId, query: Float32Array, k: number): Promise<Match[]> {
  return index && index.size > 0 ? index.search(stage, query, k) : [];
}

/** Ranked gallery matches for each stage in `queries` (nothing while no index is built). */
export async function searchGallery(queries: Partial<Record<StageKey, Float32Array>>, k: number): Promise<Partial<Record<StageKey, Match[]>>> {
  return index && index.size > 0 ? index.searchAll(queries, k) : {};
}
