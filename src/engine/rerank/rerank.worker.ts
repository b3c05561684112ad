// The re-ranking worker (bundled by Vite through `new URL('./rerank.worker.ts', import.meta.url)`).
import { serveReranking } from './host';
import type { MessageEndpoint } from './protocol';

serveReranking(self as unknown as MessageEndpoint);
