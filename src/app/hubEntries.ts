// Gallery entries to and from the hub's wire form: embeddings as float16 (decoded back, then L2-normalised
// again in float32, which entryCheck demands to 1e-5 and float16 rounding alone misses), thumbnails as
// base64 on the way out and fetched separately on the way in.
import { l2Normalise } from '../engine/vectors';
import type { StageKey } from '../engine/types';
import type { GalleryEntry } from '../gallery';
import { embeddingStages } from '../gallery/entryCheck';
import { bytesToBase64, decodeEmbedding, encodeEmbedding, type HubEntry } from '../hub/protocol';

/** The entry as this device adds it to the hub. `cameraName` stands in for an entry that has none (added
 * before the device joined). */
export async function toHubEntry(entry: GalleryEntry, cameraName: string): Promise<HubEntry> {
  const embeddings: Record<string, string> = {};
  const stages = embeddingStages(entry.embeddings) ?? [];
  for (const key of stages) embeddings[key] = encodeEmbedding(entry.embeddings[key]);
  const hubEntry: HubEntry = {
    id: entry.id,
    identity: entry.identity,
    camera: entry.camera,
    cameraName: entry.cameraName ?? cameraName,
    fileName: entry.fileName,
    modelId: entry.modelId,
    createdAt: Math.max(0, Math.round(entry.addedAt)),
    dim: stages.length > 0 ? entry.embeddings[stages[0]].length : 0,
    embeddings,
  };
  if (entry.thumbnail) hubEntry.thumbnail = bytesToBase64(new Uint8Array(await entry.thumbnail.arrayBuffer()));
  return hubEntry;
}

/** A gallery entry (thumbnail not fetched yet) from a hub entry, under its merged identity; or why it
 * cannot be one. Its embeddings are those of the model that made it, whatever its number of exits: an
 * entry of another model is re-embedded before it is searched. */
export function fromHubEntry(entry: Omit<HubEntry, 'thumbnail'>, identity: string): GalleryEntry | string {
  const stages = embeddingStages(entry.embeddings);
  if (!stages) return `has embeddings for stages ${Object.keys(entry.embeddings).join(', ')}, not one per exit (1…n) and fused`;
  const embeddings = {} as Record<StageKey, Float32Array>;
  for (const key of stages) {
    const v = decodeEmbedding(entry.embeddings[key], entry.dim);
    if (typeof v === 'string') return `embedding ${key} ${v}`;
    embeddings[key] = l2Normalise(v);
  }
  return {
    id: entry.id,
    identity,
    camera: entry.camera,
    cameraName: entry.cameraName,
    fileName: entry.fileName,
    thumbnail: null,
    embeddings,
    modelId: entry.modelId,
    addedAt: entry.createdAt,
  };
}
