// The re-ranking client and its worker host, joined by a real MessageChannel, with the gallery's
// neighbours from TF.js on wasm (what the app does, minus the Worker wrapper).
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../node/testModel';
import { l2Normalise } from '../vectors';
import { serveReranking } from './host';
import { galleryNeighbours, prepareGallery, rerankQuery } from './kReciprocal';
import { galleryNeighboursOnBackend } from './neighboursOnBackend';
import type { MessageEndpoint } from './protocol';
import { createReranker, RerankCancelled, stageMatrix, type Reranker, type RerankGallery } from './reranker';

const DIM = 16;

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

/** `ids` identities, `per` noisy views each. */
function clusteredRows(ids: number, per: number, seed: number): Float32Array[] {
  const next = rng(seed);
  const centres = Array.from({ length: ids }, () => Float32Array.from({ length: DIM }, next));
  return Array.from({ length: ids * per }, (_, i) => l2Normalise(centres[i % ids].map((x) => x + 0.9 * next())));
}

function galleryOf(rows: Float32Array[], version: number): RerankGallery {
  return { version, ...stageMatrix(rows.map((r, i) => ({ id: `e${i}`, embeddings: { fused: r } })), 'fused') };
}

let open: { reranker: Reranker; host: MessagePort }[] = [];
function connected(): Reranker {
  const channel = new MessageChannel();
  serveReranking(channel.port1 as unknown as MessageEndpoint);
  const reranker = createReranker({ endpoint: channel.port2 as unknown as MessageEndpoint });
  open.push({ reranker, host: channel.port1 });
  return reranker;
}

describe('createReranker (worker host over a MessageChannel, neighbours on wasm)', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });
  afterEach(() => {
    for (const { reranker, host } of open) {
      reranker.dispose();
      host.close();
    }
    open = [];
  });

  it('finds the same neighbours on the backend as in plain JS', async () => {
    const rows = clusteredRows(30, 5, 3);
    const { embeddings } = galleryOf(rows, 1);
    const js = galleryNeighbours(embeddings, DIM, 20);
    const backend = await galleryNeighboursOnBackend(embeddings, DIM, 20, { blockRows: 7 });
    expect(backend.width).toBe(js.width);
    backend.maxD2.forEach((m, i) => expect(m).toBeCloseTo(js.maxD2[i], 5));
    expect(Array.from(backend.knn)).toEqual(Array.from(js.knn));
  });

  it('returns the top k of the re-ranked distances, as ids', async () => {
    const rows = clusteredRows(25, 6, 5);
    const gallery = galleryOf(rows, 1);
    const query = l2Normalise(rows[7].map((x, t) => x + 0.3 * Math.sin(t)));
    const direct = rerankQuery(prepareGallery(gallery.embeddings, DIM, galleryNeighbours(gallery.embeddings, DIM, 20)), query).distances;
    const expected = Array.from(direct.keys()).sort((a, b) => direct[a] - direct[b]).slice(0, 10);
    const got = await connected().rerank(query, 'fused', gallery, 10);
    expect(got.matches.map((m) => m.id)).toEqual(expected.map((i) => `e${i}`));
    got.matches.forEach((m, i) => expect(m.distance).toBeCloseTo(direct[expected[i]], 6));
    expect(got.prepareMs).toBeGreaterThan(0);
  });

  it('prepares a gallery version once, and again when the version changes', async () => {
    const rows = clusteredRows(20, 5, 9);
    const reranker = connected();
    const first = await reranker.rerank(rows[0], 'fused', galleryOf(rows, 1), 5);
    const again = await reranker.rerank(rows[1], 'fused', galleryOf(rows, 1), 5);
    expect(first.prepareMs).toBeGreaterThan(0);
    expect(again.prepareMs).toBe(0);
    // Entry e0 removed: version 2 must not return it.
    const fewer = rows.slice(1);
    const after = await reranker.rerank(rows[0], 'fused', { version: 2, ...stageMatrix(fewer.map((r, i) => ({ id: `f${i + 1}`, embeddings: { fused: r } })), 'fused') }, 5);
    expect(after.prepareMs).toBeGreaterThan(0);
    expect(after.matches.map((m) => m.id)).not.toContain('e0');
    expect(after.matches).toHaveLength(5);
  });

  it('cancels older queries when a newer one arrives', async () => {
    const rows = clusteredRows(20, 5, 11);
    const gallery = galleryOf(rows, 1);
    const reranker = connected();
    const calls = [0, 1, 2].map((i) => reranker.rerank(rows[i], 'fused', gallery, 3));
    const settled = await Promise.allSettled(calls);
    expect(settled.slice(0, 2).map((s) => s.status)).toEqual(['rejected', 'rejected']);
    for (const s of settled.slice(0, 2)) expect((s as PromiseRejectedResult).reason).toBeInstanceOf(RerankCancelled);
    expect(settled[2].status).toBe('fulfilled');
    expect((settled[2] as PromiseFulfilledResult<{ matches: { id: string }[] }>).value.matches[0].id).toBe('e2');
  });

  it('rejects a query of the wrong size with a clear message', async () => {
    const rows = clusteredRows(5, 5, 13);
    await expect(connected().rerank(new Float32Array(3), 'fused', galleryOf(rows, 1), 3)).rejects.toThrow(`query must have ${DIM} values, got 3`);
  });
});
