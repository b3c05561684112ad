// The composition root: the app's services, made once for this page with the browser's parts (IndexedDB,
// the shipped model, canvases, downloads) and the notices store as their voice. Stores mirror these
// services; nothing else constructs them.

import { GallerySession } from './app/gallerySession';
import { browserCodec } from './app/browserCodec';
import { EngineHost } from './app/engineHost';
import { HubService } from './app/hubService';
import { openHubStorage } from './app/hubStorage';
import type { Notify } from './app/notify';
import { QueryService } from './app/queryService';
import { StreamService } from './app/streamService';
import { yieldToUi } from './app/yieldToUi';
import { createEngine, createReranker, type BackendMemory, type CostStorage } from './engine';
import { openGalleryStore } from './gallery';
import { SHIPPED_MODEL } from './shippedModel';
import { downloadBlob } from './store/download';
import { reportError, reportNote } from './store/notices';
import { quietly } from './store/quietly';
import { settingsStorage, useSettings } from './store/settings';

// The float16 export: half the download of fp32, same Market-1501 accuracy (models/README.md).
export const MODEL_URL = `${import.meta.env.BASE_URL}models/${SHIPPED_MODEL}/model.json`;
/** Absolute: tfjs' threaded wasm backend also fetches the binaries from a blob: worker. */
const WASM_PATHS = new URL(`${import.meta.env.BASE_URL}tfjs-wasm/`, location.href).href;

/** Calibrated costs persist in IndexedDB; when it is unusable they are measured again on each load. */
const persistedCosts = settingsStorage.costStorage();
const costStorage: CostStorage = {
  get: (key) => quietly(() => persistedCosts.get(key), undefined),
  set: (key, value) => quietly(() => persistedCosts.set(key, value), undefined),
};

/** Automatic mode's choice of backend, likewise (without IndexedDB it probes again on each load). */
const persistedChoice = settingsStorage.backendMemory();
const backendMemory: BackendMemory = {
  get: (key) => quietly(() => persistedChoice.get(key), undefined),
  set: (key, value) => quietly(() => persistedChoice.set(key, value), undefined),
};

const notify: Notify = { error: reportError, note: reportNote };

export const engineHost = new EngineHost(
  (force, onProgress) => createEngine({ modelUrl: MODEL_URL, wasmPaths: WASM_PATHS, force, storage: costStorage, memory: backendMemory, onProgress }),
  notify,
);

export const gallerySession = new GallerySession({ storage: openGalleryStore(), host: engineHost, codec: browserCodec, notify, download: downloadBlob });

/** The hub on this page's origin (npm start serves both); started with the gallery (src/main.tsx). */
export const hubService = new HubService({
  gallery: gallerySession,
  storage: openHubStorage(),
  notify,
  WebSocket,
  fetch: (input, init) => fetch(input, init),
  baseUrl: location.origin,
  page: { href: () => location.href, replace: (url) => history.replaceState(history.state, '', url) },
});

let rerankerInstance: ReturnType<typeof createReranker> | undefined;

export const queryService = new QueryService({
  host: engineHost,
  gallery: gallerySession,
  codec: browserCodec,
  notify,
  settings: () => {
    const { budgetMs, flip, topK, rerank } = useSettings.getState();
    return { budgetMs, flip, topK, rerank };
  },
  // One worker for the page's lifetime, started on the first re-ranked search.
  get reranker() {
    return (rerankerInstance ??= createReranker());
  },
});

export const streamService = new StreamService({ host: engineHost, gallery: gallerySession, notify, yieldToUi });

// Calibrated costs learned from real runs are written when the page is hidden (it may never come back).
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') void engineHost.flush().catch(() => undefined);
});
