// The hub's plain HTTP endpoints under /hub/: status, thumbnails, search. Everything there, unknown paths
// included, answers 401 without `Authorization: Bearer <secret>`, so a stranger learns nothing of what exists.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeEmbedding, describeIssues, HUB_PATH, SearchRequestSchema, type HubStatus, type SearchResponse } from '../../src/hub/protocol.ts';
import { secretMatches } from './secret.ts';
import type { HubStore } from './store.ts';
import type { VectorIndex } from './vectorIndex.ts';

/** A search request is a few hundred bytes; anything near this is not one. */
export const SEARCH_BODY_BYTES = 64 * 1024;

const HEADERS = {
  'Cache-Control': 'no-store',
  // The app's page is cross-origin isolated (vite.config.ts ISOLATION_HEADERS); its own-origin
  // subresources need these to load under require-corp.
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
};

const THUMBNAIL_PATH = /^\/hub\/thumbnails\/([A-Za-z0-9_-]{1,64})$/;

export interface HttpHandlerOptions {
  secret: string;
  store: Pick<HubStore, 'hubId' | 'status' | 'thumbnail' | 'dimOf' | 'identityOf'>;
  index: Pick<VectorIndex, 'search'>;
}

export function createHttpHandler({ secret, store, index }: HttpHandlerOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { ...HEADERS, 'Content-Type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, status: number, message: string) => json(res, status, { error: message });

  const search = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > SEARCH_BODY_BYTES) {
        refused = true;
        res.setHeader('Connection', 'close');
        error(res, 413, `the search body is larger than ${SEARCH_BODY_BYTES} bytes`);
        res.on('finish', () => req.destroy());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return error(res, 400, 'the search body is not JSON');
      }
      const parsed = SearchRequestSchema.safeParse(body);
      if (!parsed.success) return error(res, 400, `search refused: ${describeIssues(parsed.error)}`);
      const { modelId, stage, embedding, k } = parsed.data;
      const dim = store.dimOf(modelId);
      // No entry of that model: nothing is near, which is an answer, not an error.
      if (dim === undefined) return json(res, 200, { matches: [] } satisfies SearchResponse);
      const query = decodeEmbedding(embedding, dim);
      if (typeof query === 'string') return error(res, 400, `search refused: embedding ${query}`);
      const matches = index.search(modelId, stage, dim, query, k).map((m) => ({ ...m, identity: store.identityOf(m.entryId) ?? '' }));
      json(res, 200, { matches } satisfies SearchResponse);
    });
  };

  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://hub').pathname;
    if (!path.startsWith(HUB_PATH)) return false;
    const auth = req.headers.authorization;
    const offered = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : undefined;
    if (!secretMatches(secret, offered)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="hub"');
      error(res, 401, 'the hub needs its secret: Authorization: Bearer <secret> (the join link carries it)');
      return true;
    }
    const method = req.method ?? 'GET';
    const thumbnail = THUMBNAIL_PATH.exec(path);
    if (path === `${HUB_PATH}status`) {
      if (method !== 'GET') error(res, 405, 'use GET');
      else json(res, 200, { hubId: store.hubId, ...store.status() } satisfies HubStatus);
    } else if (path === `${HUB_PATH}search`) {
      if (method !== 'POST') error(res, 405, 'use POST');
      else search(req, res);
    } else if (thumbnail) {
      const bytes = method === 'GET' ? store.thumbnail(thumbnail[1]) : undefined;
      if (method !== 'GET') error(res, 405, 'use GET');
      else if (!bytes) error(res, 404, `no thumbnail for entry ${thumbnail[1]}`);
      else {
        res.writeHead(200, { ...HEADERS, 'Content-Type': 'image/jpeg', 'Content-Length': bytes.length });
        res.end(bytes);
      }
    } else error(res, 404, `no hub endpoint at ${path}`);
    return true;
  };
}
