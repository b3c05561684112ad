import type { StageKey } from '../engine/types';

/** One gallery image, as persisted in IndexedDB. */
export interface GalleryEntry {
  id: string;
  /** Identity: given by a naming rule of src/protocol ('0002' from a Market-1501 name; '-1' and '0000'
   * there are junk and distractors, which labelOf tells from persons) or typed by the user. */
  identity: string;
  /** Camera number from the file name, or null when unknown. */
  camera: number | null;
  fileName: string;
  /** Camera name of the device that added it through the hub ("Front door"); null for entries added
   * before the device joined a hub, or stored by an older version of the app. */
  cameraName: string | null;
  /** JPEG of the image at the model's input size: shown as the thumbnail, and enough to re-embed it. Null
   * for an entry from the hub whose thumbnail is not fetched yet (hub events carry none). */
  thumbnail: Blob | null;
  /** Every stage's L2-normalised embedding, by the layout of the model that made it (each exit, then fused). */
  embeddings: Record<StageKey, Float32Array>;
  /** Which model produced the embeddings (model.json URL + weights hash); others must be re-embedded. */
  modelId: string;
  addedAt: number;
}
