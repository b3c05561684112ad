// The worker side of re-ranking: keeps one prepared gallery per stage and answers queries against it.
import { prepareGallery, rerankQuery, type PreparedGallery } from './kReciprocal';
import type { HostReply, HostRequest, MessageEndpoint } from './protocol';

export function serveReranking(endpoint: MessageEndpoint): void {
  const galleries = new Map<string, { version: string; prepared: PreparedGallery }>();
  const reply = (message: HostReply) => endpoint.postMessage(message);
  endpoint.onmessage = (event: MessageEvent) => {
    const request = event.data as HostRequest;
    const start = performance.now();
    try {
      if (request.type === 'gallery') {
        galleries.set(request.stage, { version: request.version, prepared: prepareGallery(request.matrix, request.dim, request.neighbours, request.params) });
        reply({ id: request.id, type: 'ready', ms: performance.now() - start });
        return;
      }
      const held = galleries.get(request.stage);
      if (held?.version !== request.version) throw new Error(`no prepared gallery for stage ${request.stage} version ${request.version}`);
      const { distances, recomputedRows, outlierColumns } = rerankQuery(held.prepared, request.query);
      const order = Int32Array.from(distances.keys()).sort((a, b) => distances[a] - distances[b]);
      const indices = order.slice(0, Math.max(0, Math.min(request.k, order.length)));
      reply({ id: request.id, type: 'result', indices, distances: Float32Array.from(indices, (i) => distances[i]), ms: performance.now() - start, recomputedRows, outlierColumns });
    } catch (error) {
      reply({ id: request.id, type: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  };
}
