// Public API of src/gallery: persistence (IndexedDB through idb-keyval), the export file, per-device
// settings. No React. (Identities from file names: src/protocol.)
//
//   const gallery = openGalleryStore();
//   const { entries, unreadable } = await gallery.load();        // oldest first
//   await gallery.addMany(batch);      // one transaction: all or nothing
//   await gallery.remove(id); await gallery.clear(); await gallery.count();
//   // every failure is a GalleryStorageError: e.kind 'quota' | 'unavailable' | 'invalid' | 'unknown', e.message for the user
//
//   const blob = await exportGallery(entries);                    // download as exportFileName(); SHA-256 over its contents
//   const imported = await importGallery(file, { expectedModelId: engine.model.modelId });
//   // GalleryFileError (e.kind 'not-gallery' | 'unsupported-version' | 'truncated' | 'damaged' | 'invalid' | 'unavailable')
//   // when refused, as a whole;
//   // imported.foreignModelEntries > 0: warn, their embeddings come from another model (re-embed from thumbnails)
//   await gallery.replaceAll(imported.entries);                   // or addMany to merge
//
//   const settings = openSettingsStore();
//   await settings.get('budgetMs'); await settings.set('budgetMs', 40);
//   createEngine({ …, storage: settings.costStorage() });          // calibrated costs persist per device

export type { GalleryEntry } from './types';
export { openGalleryStore, GALLERY_DB, type GalleryStore, type LoadedGallery } from './store';
export { openSettingsStore, SETTINGS_DB, type Settings, type SettingKey, type SettingsStore } from './settings';
export {
  exportGallery,
  importGallery,
  exportFileName,
  GALLERY_FILE_EXTENSION,
  GALLERY_FILE_SIGNATURE,
  GALLERY_FILE_VERSION,
  type ImportedGallery,
} from './exportFormat';
export {
  GalleryStorageError,
  GalleryFileError,
  type GalleryStorageErrorKind,
  type GalleryFileErrorKind,
  type StorageOperation,
} from './errors';
export { entryProblem } from './entryCheck';
