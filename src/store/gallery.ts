// Mirror of the gallery session (src/app/gallerySession.ts), plus the identity the user types for the
// next upload. Actions are handed to the session.

import { create } from 'zustand';
import type { GallerySessionState } from '../app/gallerySession';
import { gallerySession } from '../services';

export type { GalleryJob } from '../app/gallerySession';

interface GalleryState extends GallerySessionState {
  /** Identity typed by the user for the next upload (overrides Market-1501 names when set). */
  typedIdentity: string;

  setTypedIdentity(identity: string): void;
  load(): Promise<void>;
  /** Decodes, embeds (every stage's embedding) and stores each image; bad files are reported and skipped.
   * The identity is `options.identity`, else the typed one, else read from each Market-1501 file name. */
  addFiles(files: readonly File[], options?: { identity?: string }): Promise<void>;
  remove(id: string): Promise<void>;
  /** Gives one entry another identity (shared through the hub like any change). */
  rename(id: string, identity: string): Promise<void>;
  clear(): Promise<void>;
  undoClear(): Promise<void>;
  exportGallery(): void;
  /** Adds the entries of an exported file (or, with `replace`, replaces the gallery with them). */
  importGallery(file: File, replace: boolean): Promise<void>;
}

export const useGallery = create<GalleryState>()((set, get) => ({
  ...gallerySession.state,
  typedIdentity: '',

  setTypedIdentity: (typedIdentity) => set({ typedIdentity }),
  load: () => gallerySession.load(),
  addFiles: (files, options = {}) => gallerySession.addFiles(files, options.identity ?? get().typedIdentity),
  remove: (id) => gallerySession.remove(id),
  rename: (id, identity) => gallerySession.rename(id, identity),
  clear: () => gallerySession.clear(),
  undoClear: () => gallerySession.undoClear(),
  exportGallery: () => gallerySession.exportFile(),
  importGallery: (file, replace) => gallerySession.importFile(file, replace),
}));

gallerySession.subscribe((state) => useGallery.setState(state));
