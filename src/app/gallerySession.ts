// The gallery: entries persisted in IndexedDB (src/gallery), embedded with the engine, searchable through a
// GalleryIndex on the engine's backend. Adding images (uploads and webcam enrollment, through one
// makeEntry), deleting, clearing, export and import live here; so does re-embedding when the model changes.
//
// Nothing is lost to a storage failure: entries IndexedDB refuses (quota, storage disabled) stay in the
// gallery for this tab, are counted as unsaved, and can still be exported.
//
// The hub (src/app/hubService.ts) shares the gallery between devices: it listens to the changes made here
// (onLocalChange) and brings other devices' changes in through applyRemote, which tells no listener, so a
// remote change never comes back as a local one.

import { GalleryIndex, stageKey, type Engine, type Match, type RgbaPixels, type StageKey } from '../engine';
import { exportFileName, exportGallery, GalleryStorageError, importGallery, type GalleryEntry, type GalleryStore, type ImportedGallery, type StorageOperation } from '../gallery';
import { labelOf, nameImage, UNNAMED_MESSAGE } from '../protocol';
import type { GalleryView } from '../webcam/pipeline';
import { GALLERY } from '../config';
import type { EngineHost } from './engineHost';
import { newEntryId } from './ids';
import { failureMessage, type ImageCodec } from './imageCodec';
import type { Notify } from './notify';
import { Observable } from './observable';
import { yieldToUi } from './yieldToUi';

export interface GalleryJob {
  kind: 'add' | 'import' | 'reembed';
  done: number;
  total: number;
  failed: number;
}

export interface GallerySessionState {
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
  /** What the last clear removed, until undone or replaced by another clear. */
  cleared: GalleryEntry[] | null;
}

export interface GallerySessionDeps {
  storage: GalleryStore;
  host: EngineHost;
  codec: ImageCodec;
  notify: Notify;
  /** Saves an exported gallery file (the browser starts a download). */
  download(blob: Blob, fileName: string): void;
}

/** What an entry is made from; `makeEntry` adds the id, the model, the time and the camera name. */
export interface EntrySource {
  identity: string;
  camera: number | null;
  fileName: string;
  thumbnail: Blob;
  embeddings: Record<StageKey, Float32Array>;
}

/** The one gallery-entry builder, for uploads and webcam enrollment alike. */
export function makeEntry(source: EntrySource, engine: Engine, addedAt = Date.now(), cameraName: string | null = null): GalleryEntry {
  return { id: newEntryId(), ...source, cameraName, modelId: engine.model.modelId, addedAt };
}

/** A change made on this device (not one applied through applyRemote). Clearing the gallery removes every id. */
export type GalleryChange =
  | { kind: 'added'; entries: readonly GalleryEntry[] }
  | { kind: 'removed'; ids: readonly string[] }
  | { kind: 'renamed'; id: string; identity: string };

/** Changes another device made, as the hub's merge rules resolved them. */
export interface RemoteChanges {
  /** New entries; ids already in the gallery are skipped (entries are immutable). */
  added: readonly GalleryEntry[];
  renamed: readonly { id: string; identity: string }[];
  removed: readonly string[];
}

/** Where a thumbnail missing from an entry comes from (the hub): the JPEG, or null when there is none. */
export type ThumbnailSource = (entry: GalleryEntry) => Promise<Blob | null>;

/** An identity as the gallery accepts it: trimmed, not empty, within the hub's limit. */
const MAX_IDENTITY_CHARS = 120;

const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);

export class GallerySession extends Observable<GallerySessionState> {
  /** The index lives on `indexEngine`'s backend; null while no engine is attached. */
  private index: GalleryIndex | null = null;
  private indexEngine: Engine | null = null;
  /** Gallery jobs run one at a time, in order. A job never waits for the engine (its attach runs here too). */
  private work: Promise<void> = Promise.resolve();
  private viewCache: GalleryView | null = null;
  private readonly changeListeners = new Set<(change: GalleryChange) => void>();
  private thumbnailSource: ThumbnailSource | null = null;
  /** The camera name given to the entries this device adds (set while it is part of a hub). */
  private cameraName: string | null = null;

  constructor(private readonly deps: GallerySessionDeps) {
    super({ entries: [], version: 0, loaded: false, persistent: true, unsaved: new Set(), job: null, cleared: null });
    deps.host.onChange({
      // Waits for the running gallery job: it may still be embedding with this engine.
      detach: (engine) =>
        this.enqueue(async () => {
          if (this.indexEngine !== engine) return;
          this.index?.dispose();
          this.index = null;
          this.indexEngine = null;
        }),
      attach: (engine) => this.enqueue(() => this.syncIndex(engine)),
    });
    const ready = deps.host.ready();
    if (ready) void this.enqueue(() => this.syncIndex(ready));
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    this.work = this.work.then(job, job);
    return this.work;
  }

  /** Tells `listener` of every change made on this device, until the returned function is called. */
  onLocalChange(listener: (change: GalleryChange) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private told(change: GalleryChange): void {
    for (const listener of this.changeListeners) listener(change);
  }

  /** The camera name entries added from now on carry (null: none). */
  setCameraName(name: string | null): void {
    this.cameraName = name;
  }

  /** Where missing thumbnails are fetched from (re-embedding and export need them). */
  setThumbnailSource(source: ThumbnailSource | null): void {
    this.thumbnailSource = source;
  }

  /** Applies a new list of entries (and which of them are unsaved). */
  private change(entries: GalleryEntry[], unsaved: ReadonlySet<string>): void {
    this.update({ entries, unsaved, version: this.state.version + 1 });
  }

  private storageFailed(e: unknown, operation: StorageOperation): GalleryStorageError {
    const err = GalleryStorageError.from(e, operation);
    if (err.kind === 'unavailable') this.update({ persistent: false });
    return err;
  }

  load(): Promise<void> {
    return this.enqueue(async () => {
      try {
        const { entries, unreadable } = await this.deps.storage.load();
        this.change(entries, new Set());
        if (unreadable.length) {
          const n = unreadable.length;
          this.deps.notify.error(`${n} saved gallery ${plural(n, 'entry is', 'entries are')} unreadable and ${plural(n, 'was', 'were')} skipped (${unreadable[0].problem}).`);
        }
      } catch (e) {
        this.deps.notify.error(this.storageFailed(e, 'load').message);
      }
      // An engine attached before the entries were read: index them (re-embedding stale ones) now.
      const engine = this.indexEngine ?? this.deps.host.ready();
      if (engine) await this.syncIndex(engine);
      this.update({ loaded: true });
    });
  }

  /** Decodes, embeds (every stage's embedding) and stores each image; bad files are reported and skipped.
   * The identity is `typedIdentity` when set, else read from each file's path by the naming rules (src/protocol). */
  async addFiles(files: readonly File[], typedIdentity: string): Promise<void> {
    const list = [...files];
    if (list.length === 0) return;
    const identity = typedIdentity.trim();
    const engine = await this.deps.host.whenReady();
    if (!engine) {
      const n = list.length;
      this.deps.notify.error(`The ${n} ${plural(n, 'image was', 'images were')} not added: the model is not loaded. Retry loading it, then add ${plural(n, 'it', 'them')} again.`);
      return;
    }
    return this.enqueue(() => this.addImages(engine, list, identity));
  }

  /** Adds crops of one person (at the model's input size, from the webcam) as `identity`. */
  async enroll(identity: string, crops: readonly RgbaPixels[]): Promise<void> {
    const engine = this.deps.host.ready();
    if (!engine) throw new Error('the model is not loaded');
    const [embeddings, thumbnails] = await Promise.all([engine.runner.embedAllBatch(crops), Promise.all(crops.map((c) => this.deps.codec.encodeCrop(c)))]);
    const now = Date.now();
    const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
    const entries = crops.map((_, i) =>
      makeEntry({ identity, camera: null, fileName: `webcam-${identity}-${stamp}-${i + 1}.jpg`, thumbnail: thumbnails[i], embeddings: embeddings[i] }, engine, now + i, this.cameraName),
    );
    await this.enqueue(async () => {
      await this.addToGallery(entries);
      this.told({ kind: 'added', entries });
    });
  }

  /** Gives entry `id` another identity (its embeddings, and so the index, stay as they are). */
  rename(id: string, identity: string): Promise<void> {
    return this.enqueue(async () => {
      const entry = this.state.entries.find((e) => e.id === id);
      const name = identity.trim();
      if (!entry || name === entry.identity) return;
      if (name === '' || name.length > MAX_IDENTITY_CHARS) {
        this.deps.notify.error(`${entry.fileName} was not renamed: an identity has 1 to ${MAX_IDENTITY_CHARS} characters.`);
        return;
      }
      const renamed = { ...entry, identity: name };
      if (this.state.persistent && !this.state.unsaved.has(id)) {
        try {
          await this.deps.storage.addMany([renamed]);
        } catch (e) {
          this.deps.notify.error(`${entry.fileName} was not renamed: ${this.storageFailed(e, 'save').message}`);
          return;
        }
      }
      this.change(
        this.state.entries.map((e) => (e.id === id ? renamed : e)),
        this.state.unsaved,
      );
      this.told({ kind: 'renamed', id, identity: name });
    });
  }

  /** Applies another device's changes (through the hub), telling no change listener. Resolves once they
   * are stored (or known unsaved); entries of another model are re-embedded afterwards, in a job of their own. */
  applyRemote(changes: RemoteChanges): Promise<void> {
    return this.enqueue(async () => {
      const removed = new Set(changes.removed);
      const known = new Set(this.state.entries.map((e) => e.id));
      const added = changes.added.filter((e) => !known.has(e.id) && !removed.has(e.id));
      const identities = new Map(changes.renamed.map((r) => [r.id, r.identity]));
      const renamed: GalleryEntry[] = [];
      const kept: GalleryEntry[] = [];
      for (const e of this.state.entries) {
        if (removed.has(e.id)) continue;
        const identity = identities.get(e.id);
        if (identity !== undefined && identity !== e.identity) {
          const r = { ...e, identity };
          renamed.push(r);
          kept.push(r);
        } else kept.push(e);
      }
      const gone = this.state.entries.filter((e) => removed.has(e.id)).map((e) => e.id);
      if (added.length === 0 && renamed.length === 0 && gone.length === 0) return;
      const unsaved = new Set(this.state.unsaved);
      for (const id of gone) {
        this.index?.remove(id);
        unsaved.delete(id);
      }
      this.addToIndex(added);
      for (const e of added) unsaved.add(e.id);
      this.change([...kept, ...added], unsaved);
      if (gone.length && this.state.persistent) {
        try {
          await this.deps.storage.removeMany(gone);
        } catch (e) {
          this.deps.notify.error(`Entries deleted on another device are still stored here (they come back on the next load): ${this.storageFailed(e, 'delete').message}`);
        }
      }
      await this.persist([...renamed.filter((e) => !this.state.unsaved.has(e.id)), ...added]);
      const engine = this.indexEngine;
      const foreign = engine ? added.filter((e) => e.modelId !== engine.model.modelId) : [];
      if (engine && foreign.length) {
        void this.enqueue(async () => {
          if (this.indexEngine !== engine) return; // a new engine's attach re-embeds them
          const ids = new Set(this.state.entries.map((e) => e.id));
          await this.reembed(engine, foreign.filter((e) => ids.has(e.id)));
        });
      }
    });
  }

  /** Puts fetched thumbnails into the entries that lacked them, and stores them. */
  setThumbnails(thumbnails: ReadonlyMap<string, Blob>): Promise<void> {
    return this.enqueue(async () => {
      const filled: GalleryEntry[] = [];
      const entries = this.state.entries.map((e) => {
        const thumbnail = e.thumbnail === null ? thumbnails.get(e.id) : undefined;
        if (!thumbnail) return e;
        const f = { ...e, thumbnail };
        filled.push(f);
        return f;
      });
      if (filled.length === 0) return;
      // Searches are unaffected: the version stays.
      this.update({ entries });
      const toSave = filled.filter((e) => !this.state.unsaved.has(e.id));
      if (this.state.persistent && toSave.length) {
        try {
          await this.deps.storage.addMany(toSave);
        } catch (e) {
          this.deps.notify.error(`Thumbnails from the hub were not saved (they are fetched again on the next load): ${GalleryStorageError.from(e, 'save').message}`);
        }
      }
    });
  }

  remove(id: string): Promise<void> {
    return this.enqueue(async () => {
      const entry = this.state.entries.find((e) => e.id === id);
      if (!entry) return;
      if (this.state.persistent && !this.state.unsaved.has(id)) {
        try {
          await this.deps.storage.remove(id);
        } catch (e) {
          this.deps.notify.error(`${entry.fileName} was not deleted: ${this.storageFailed(e, 'delete').message}`);
          return;
        }
      }
      this.index?.remove(id);
      const unsaved = new Set(this.state.unsaved);
      unsaved.delete(id);
      this.change(
        this.state.entries.filter((e) => e.id !== id),
        unsaved,
      );
      this.told({ kind: 'removed', ids: [id] });
    });
  }

  clear(): Promise<void> {
    return this.enqueue(async () => {
      const removed = this.state.entries;
      if (removed.length === 0) return;
      if (this.state.persistent) {
        try {
          await this.deps.storage.clear();
        } catch (e) {
          this.deps.notify.error(`The gallery was not cleared: ${this.storageFailed(e, 'clear').message}`);
          return;
        }
      }
      this.index?.clear();
      this.change([], new Set());
      this.update({ cleared: removed });
      this.told({ kind: 'removed', ids: removed.map((e) => e.id) });
    });
  }

  undoClear(): Promise<void> {
    return this.enqueue(async () => {
      const cleared = this.state.cleared;
      this.update({ cleared: null });
      if (!cleared) return;
      // New ids: a hub keeps the clear's deletes as tombstones, and the restored entries are new ones there.
      const restored = cleared.map((e) => ({ ...e, id: newEntryId() }));
      await this.addToGallery(restored);
      this.told({ kind: 'added', entries: restored });
    });
  }

  /** Writes the gallery file (async: its checksum hashes the thumbnails) and hands it to the download.
   * Thumbnails not fetched from the hub yet are fetched first; entries whose thumbnail cannot be had are
   * left out, and the user is told. */
  async exportFile(): Promise<void> {
    try {
      const entries: GalleryEntry[] = [];
      const missing: GalleryEntry[] = [];
      const fetched = new Map<string, Blob>();
      for (const e of this.state.entries) {
        const thumbnail = e.thumbnail ?? (await this.fetchThumbnail(e).catch(() => null));
        if (!thumbnail) missing.push(e);
        else {
          if (!e.thumbnail) fetched.set(e.id, thumbnail);
          entries.push({ ...e, thumbnail });
        }
      }
      if (fetched.size) void this.setThumbnails(fetched);
      this.deps.download(await exportGallery(entries), exportFileName());
      if (missing.length) {
        const n = missing.length;
        this.deps.notify.error(`${n} gallery ${plural(n, 'entry was', 'entries were')} left out of the export: ${plural(n, 'its', 'their')} thumbnail could not be fetched from the hub (${missing[0].fileName}…).`);
      }
    } catch (e) {
      this.deps.notify.error(`The gallery could not be exported: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async fetchThumbnail(entry: GalleryEntry): Promise<Blob | null> {
    return this.thumbnailSource ? this.thumbnailSource(entry) : null;
  }

  /** Adds the entries of an exported file (or, with `replace`, replaces the gallery with them). */
  importFile(file: File, replace: boolean): Promise<void> {
    return this.enqueue(async () => {
      this.update({ job: { kind: 'import', done: 0, total: 1, failed: 0 } });
      try {
        let imported: ImportedGallery;
        try {
          imported = await importGallery(file, { expectedModelId: this.indexEngine?.model.modelId });
        } catch (e) {
          // Refused as a whole before anything was touched.
          this.deps.notify.error(`${file.name} was not imported, the gallery is unchanged: ${e instanceof Error ? e.message : String(e)}`);
          return;
        }
        const n = imported.entries.length;
        if (imported.foreignModelEntries > 0) {
          this.deps.notify.note(`${file.name}: ${imported.foreignModelEntries} of ${n} entries were embedded by another model; they are embedded again from their thumbnails.`);
        }
        if (replace) {
          if (this.state.persistent) {
            try {
              await this.deps.storage.replaceAll(imported.entries);
            } catch (e) {
              this.deps.notify.error(`${file.name} was not imported, the gallery is unchanged: ${this.storageFailed(e, 'save').message}`);
              return;
            }
          }
          const kept = new Set(imported.entries.map((e) => e.id));
          const gone = this.state.entries.filter((e) => !kept.has(e.id)).map((e) => e.id);
          if (this.indexEngine) this.rebuildIndex(this.indexEngine, imported.entries);
          this.change(imported.entries, this.state.persistent ? new Set() : new Set(imported.entries.map((e) => e.id)));
          if (gone.length) this.told({ kind: 'removed', ids: gone });
        } else {
          const ids = new Set(imported.entries.map((e) => e.id));
          // An entry replaced by one of another model leaves the index until it is re-embedded.
          this.index?.remove(ids);
          this.addToIndex(imported.entries);
          this.change([...this.state.entries.filter((e) => !ids.has(e.id)), ...imported.entries], new Set([...this.state.unsaved, ...ids]));
          await this.persist(imported.entries);
        }
        this.told({ kind: 'added', entries: imported.entries });
        const engine = this.indexEngine;
        if (engine) await this.reembed(engine, imported.entries.filter((e) => e.modelId !== engine.model.modelId));
      } catch (e) {
        this.deps.notify.error(`${file.name} was not imported: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        this.update({ job: null });
      }
    });
  }

  /** Ranked gallery matches for each stage in `queries` (nothing while no index is built). */
  async search(queries: Partial<Record<StageKey, Float32Array>>, k: number): Promise<Partial<Record<StageKey, Match[]>>> {
    return this.index && this.index.size > 0 ? this.index.searchAll(queries, k) : {};
  }

  /** The gallery as the webcam pipeline sees it, one object per gallery version. */
  view(): GalleryView {
    const { version, entries } = this.state;
    if (this.viewCache?.version !== version) {
      // Only persons: someone whose nearest image is junk or a distractor stays unknown.
      const identities = new Map(entries.flatMap((e) => {
        const label = labelOf(e);
        return label.kind === 'person' ? [[e.id, label.identity] as const] : [];
      }));
      this.viewCache = {
        version,
        size: entries.length,
        search: async (stage, embedding, k) => (await this.search({ [stageKey(stage)]: embedding }, k))[stageKey(stage)] ?? [],
        identityOf: (id) => identities.get(id),
      };
    }
    return this.viewCache;
  }

  /** Stores a batch of entries already in memory; when IndexedDB refuses, they stay unsaved, and the
   * user is told how to keep them. */
  private async persist(batch: readonly GalleryEntry[]): Promise<void> {
    if (batch.length === 0) return;
    if (this.state.persistent) {
      try {
        await this.deps.storage.addMany(batch);
        const unsaved = new Set(this.state.unsaved);
        for (const e of batch) unsaved.delete(e.id);
        this.update({ unsaved });
        return;
      } catch (e) {
        const n = batch.length;
        this.deps.notify.error(
          `${this.storageFailed(e, 'save').message} The ${n} ${plural(n, 'image', 'images')} concerned ${plural(n, 'stays', 'stay')} in the gallery for this tab: export the gallery to keep ${plural(n, 'it', 'them')}.`,
        );
      }
    }
    this.update({ unsaved: new Set([...this.state.unsaved, ...batch.map((e) => e.id)]) });
  }

  /** Puts entries in memory and in the index (replacing same ids), then stores them. */
  private async addToGallery(added: readonly GalleryEntry[]): Promise<void> {
    if (added.length === 0) return;
    const ids = new Set(added.map((e) => e.id));
    this.addToIndex(added);
    this.change([...this.state.entries.filter((e) => !ids.has(e.id)), ...added], new Set([...this.state.unsaved, ...ids]));
    await this.persist(added);
  }

  private async addImages(engine: Engine, files: readonly File[], typedIdentity: string): Promise<void> {
    let batch: GalleryEntry[] = [];
    let failed = 0;
    this.update({ job: { kind: 'add', done: 0, total: files.length, failed } });
    for (const [i, file] of files.entries()) {
      const name = file.webkitRelativePath || file.name;
      try {
        // Decoded first: a file that is no image is refused for that, whatever its name.
        const image = await this.deps.codec.read(file, engine.model.meta.input);
        const label = nameImage(name, typedIdentity);
        if (!label) throw new Error(UNNAMED_MESSAGE);
        const entry = makeEntry(
          { identity: label.identity, camera: label.camera, fileName: name, thumbnail: image.thumbnail, embeddings: await engine.runner.embedAll(image.pixels) },
          engine,
          Date.now(),
          this.cameraName,
        );
        this.addToIndex([entry]);
        this.change([...this.state.entries, entry], new Set([...this.state.unsaved, entry.id]));
        batch.push(entry);
      } catch (e) {
        failed++;
        this.deps.notify.error(failureMessage('Not added to the gallery', name, e));
      }
      if (batch.length >= GALLERY.saveBatch) {
        await this.persist(batch);
        this.told({ kind: 'added', entries: batch });
        batch = [];
      }
      this.update({ job: { kind: 'add', done: i + 1, total: files.length, failed } });
      await yieldToUi();
    }
    await this.persist(batch);
    if (batch.length) this.told({ kind: 'added', entries: batch });
    this.update({ job: null });
  }

  /** Adds entries made by the attached engine's model to the index (others wait for re-embedding). */
  private addToIndex(entries: readonly GalleryEntry[]): void {
    if (!this.indexEngine) return;
    const modelId = this.indexEngine.model.modelId;
    const current = entries.filter((e) => e.modelId === modelId);
    if (current.length === 0) return;
    const { layout } = this.indexEngine.model;
    this.index ??= new GalleryIndex({ stages: layout.keys, dim: current[0].embeddings[layout.keys[0]].length });
    this.index.addMany(current);
  }

  /** A new index on `engine`'s backend holding `entries` of its model. */
  private rebuildIndex(engine: Engine, entries: readonly GalleryEntry[]): void {
    this.index?.dispose();
    this.index = null;
    this.indexEngine = engine;
    this.addToIndex(entries);
  }

  /** Rebuilds the index on `engine`'s backend, then re-embeds (from their thumbnails) the entries
   * another model produced. */
  private async syncIndex(engine: Engine): Promise<void> {
    this.rebuildIndex(engine, this.state.entries);
    this.update({ version: this.state.version + 1 });
    await this.reembed(engine, this.state.entries.filter((e) => e.modelId !== engine.model.modelId));
  }

  /** Re-embeds `stale` with `engine` from their thumbnails (fetching a missing one first). The entries
   * re-embedded are searchable from the moment the gallery shows them with the engine's model. */
  private async reembed(engine: Engine, stale: readonly GalleryEntry[]): Promise<void> {
    if (stale.length === 0) return;
    const setJob = (done: number, failed: number) => this.update({ job: done < stale.length ? { kind: 'reembed', done, total: stale.length, failed } : null });
    const updated = new Map<string, GalleryEntry>();
    let failed = 0;
    setJob(0, 0);
    for (const [i, entry] of stale.entries()) {
      try {
        const thumbnail = entry.thumbnail ?? (await this.fetchThumbnail(entry));
        if (!thumbnail) {
          failed++;
          this.deps.notify.error(
            `${entry.fileName} (${entry.identity}) was embedded by another model and cannot be re-embedded: the hub has no thumbnail for it. It stays in the gallery but is not searched.`,
          );
        } else {
          const pixels = await this.deps.codec.readThumbnail(thumbnail, engine.model.meta.input);
          updated.set(entry.id, { ...entry, thumbnail, embeddings: await engine.runner.embedAll(pixels), modelId: engine.model.modelId });
        }
      } catch (e) {
        failed++;
        this.deps.notify.error(failureMessage('Not embedded with the current model (the entry stays in the gallery but is not searched)', entry.fileName, e));
      }
      setJob(i + 1, failed);
      await yieldToUi();
    }
    const { entries, unsaved, persistent, version } = this.state;
    this.addToIndex([...updated.values()]);
    this.update({ entries: entries.map((e) => updated.get(e.id) ?? e), version: version + 1 });
    const toSave = [...updated.values()].filter((e) => !unsaved.has(e.id));
    if (persistent && toSave.length > 0) {
      try {
        await this.deps.storage.addMany(toSave);
      } catch (e) {
        this.deps.notify.error(`The re-embedded entries were not saved (they are embedded again on the next load): ${GalleryStorageError.from(e, 'save').message}`);
      }
    }
  }
}
