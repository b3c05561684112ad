// Connects the webcam store to the app's engine and gallery stores.

import { stageKey, type RgbaPixels } from '../../engine';
import type { GalleryEntry } from '../../gallery';
import { labelOf } from '../../protocol';
import { onEngineChange, useEngine } from '../../store/engine';
import { searchGallery, useGallery } from '../../store/gallery';
import { newEntryId } from '../../store/ids';
import { useWebcamStore, type WebcamHost } from '../../store/webcam';
import type { GalleryView } from '../../webcam/pipeline';

/** JPEG quality of the enrolled crops' thumbnails (re-embedding after a model change starts from them). */
const JPEG_QUALITY = 0.95;

let identities: { version: number; byId: Map<string, string> } | null = null;

/** The person an entry shows; none for junk and distractors, so someone nearest to one stays unknown. */
function identityOf(id: string): string | undefined {
  const { entries, version } = useGallery.getState();
  if (identities?.version !== version) {
    const persons = entries.map((e) => ({ id: e.id, label: labelOf(e) })).filter((e) => e.label.kind === 'person');
    identities = { version, byId: new Map(persons.map((e) => [e.id, e.label.identity])) };
  }
  return identities.byId.get(id);
}

async function jpeg(crop: RgbaPixels): Promise<Blob> {
  const canvas = new OffscreenCanvas(crop.width, crop.height);
  const context = canvas.getContext('2d');
  if (!context) throw new Error('no 2D canvas to encode the crop');
  context.putImageData(new ImageData(new Uint8ClampedArray(crop.data), crop.width, crop.height), 0, 0);
  return canvas.convertToBlob({ type: 'image/jpeg', quality: JPEG_QUALITY });
}

function readyEngine() {
  const { status, engine } = useEngine.getState();
  return status === 'ready' ? engine : null;
}

export const appWebcamHost: WebcamHost = {
  engine: readyEngine,
  gallery: (): GalleryView => {
    const { version, entries } = useGallery.getState();
    return {
      version,
      size: entries.length,
      search: async (stage, embedding, k) => (await searchGallery({ [stageKey(stage)]: embedding }, k))[stageKey(stage)] ?? [],
      identityOf,
    };
  },
  labelledEmbeddings: () => useGallery.getState().entries.map((e) => ({ ...labelOf(e), embeddings: e.embeddings })),
  modelThresholds: () => readyEngine()?.model.meta.unknownThresholds,
  async enroll(identity, crops) {
    const engine = readyEngine();
    if (!engine) throw new Error('the model is not loaded');
    const [embeddings, thumbnails] = await Promise.all([engine.runner.embedAllBatch(crops), Promise.all(crops.map(jpeg))]);
    const now = Date.now();
    const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
    const entries: GalleryEntry[] = crops.map((_, i) => ({
      id: newEntryId(),
      identity,
      camera: null,
      fileName: `webcam-${identity}-${stamp}-${i + 1}.jpg`,
      thumbnail: thumbnails[i],
      embeddings: embeddings[i],
      modelId: engine.model.modelId,
      addedAt: now + i,
    }));
    await useGallery.getState().addEntries(entries);
  },
  subscribe(listener) {
    const unsubscribeGallery = useGallery.subscribe((state, previous) => {
      if (state.version !== previous.version) listener();
    });
    const unsubscribeEngine = useEngine.subscribe((state, previous) => {
      if (state.engine !== previous.engine || state.status !== previous.status) listener();
    });
    return () => {
      unsubscribeGallery();
      unsubscribeEngine();
    };
  },
};

// The webcam stops, and its detector is freed, before the engine it runs on is disposed.
onEngineChange({
  detach: (engine) => useWebcamStore.getState().detachEngine(engine),
  attach: async () => undefined,
});
