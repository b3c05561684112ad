// Public API of the engine: the only module the stores and the UI import from src/engine.
//
// Typical use (the store does this once, then again when the user forces another backend):
//
//   const engine = await createEngine({
//     modelUrl: '/models/dare-mnv2/model.json',
//     wasmPaths: '/tfjs-wasm/',                    // folder the app serves the tfjs-backend-wasm .wasm files from
//     storage: { get, set },                       // idb-keyval's get/set: calibrated costs survive reloads
//     memory: { get, set },                        // the same for Automatic mode's backend choice per device
//     onProgress: (p) => …,                        // { phase: 'backend' | 'download' | 'warmup' | 'calibrate', fraction }
//   });
//   engine.backend        // BackendStatus: active backend, why Automatic chose it, why others were not used
//   engine.costs()        // StageCosts: calibrated ms per step on this device
//   stageForBudget(engine.costs(), 40)             // which stage a 40 ms budget reaches
//   const r = await engine.runner.embed(pixels, { deadlineMs: 40 });   // EmbedResult (types.ts)
//   const all = await engine.runner.embedAll(pixels);                  // every stage's, for a gallery entry
//   const index = new GalleryIndex({ stages: engine.model.layout.keys });  // per-stage [N,128] matrices on the backend
//   index.add(entry.id, entry.embeddings);
//   index.search(r.stage, r.embedding, 10);        // Promise<Match[]>
//   index.searchAll(r.embeddings, 10);             // all computed stages at once, side by side
//   engine.dispose(); index.dispose();             // before switching backend (then create both again)
//
// k-reciprocal re-ranking (rerank/reranker.ts), off the main thread:
//   const reranker = createReranker();             // one worker for the app's lifetime
//   const { ids, embeddings } = stageMatrix(entries, 'fused');
//   const { matches } = await reranker.rerank(r.embeddings.fused, 'fused', { version, ids, embeddings }, 10);
//   // a newer rerank() rejects the older ones with RerankCancelled; `version` changes with the entries

export * from './types';
export { initBackend, type BackendOptions } from './backend';
export type { BackendMemory, RememberedBackend } from './backendChoice';
export { loadDareModel, parseDareMetadata, ModelLoadError, type DareModel, type LoadModelOptions, type ModelLoadErrorKind } from './model';
export { toImageTensor, type PixelSource, type RgbaPixels } from './pixels';
export { AnytimeRunner, type EmbedAllOptions } from './runner';
/** Building blocks of the runner, for callers that schedule the steps themselves (the webcam's tracks). */
export { StagedPass, finishEmbeddings, type StepResult, type PartResult } from './staged';
export { PassParts, passParts } from './parts';
export { PartCosts } from './partCosts';
export { warmUp } from './warmup';
export {
  Calibration,
  memoryCostStorage,
  stageForBudget,
  budgetForStage,
  costsLayout,
  type CostStorage,
  type CalibrateOptions,
} from './calibration';
export { GalleryIndex, type GalleryIndexOptions } from './matcher';
export { createReranker, stageMatrix, RerankCancelled, type Reranker, type RerankerOptions, type RerankGallery, type RerankResult } from './rerank/reranker';
export { DEFAULT_RERANK_PARAMS, type RerankParams } from './rerank/kReciprocal';
export { l2Normalise, euclideanDistance } from './vectors';
export { createEngine, type Engine, type EngineOptions, type EngineProgress } from './engine';
