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
  /** JPEG of the image at the model's input size: shown as the thumbnail, and enough to re-embed it. */
  thumbnail: Blob;
  /** Every stage's L2-normalised embedding (STAGE_KEYS: each exit, then fused). */
  embeddings: Record<StageKey, Float32Array>;
  /** Which model produced the embeddings (model.json URL + weights hash); others must be re-embedded. */
  modelId: string;
  addedAt: number;
}
