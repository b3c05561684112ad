import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { set, createStore } from 'idb-keyval';
import { GalleryStorageError } from './errors';
import { bytesOf, makeEntry } from './node/testEntries';
import { openGalleryStore } from './store';
import type { GalleryEntry } from './types';

let dbCount = 0;
const freshStore = () => {
  const name = `gallery-test-${++dbCount}`;
  return { name, store: openGalleryStore(name) };
};

async function rejection(p: Promise<unknown>): Promise<GalleryStorageError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(GalleryStorageError);
  return e as GalleryStorageError;
}

describe('openGalleryStore', () => {
  it('stores entries and loads them back with Float32Arrays and Blobs intact, oldest first', async () => {
    const { store } = freshStore();
    const entries = [makeEntry(3), makeEntry(1), makeEntry(2)];
    await store.addMany(entries);
    const { entries: loaded, unreadable } = await store.load();
    expect(unreadable).toEqual([]);
    expect(loaded.map((e) => e.id)).toEqual(['e1', 'e2', 'e3']);
    const original = entries[1];
    const back = loaded[0];
    expect(back.embeddings.fused).toBeInstanceOf(Float32Array);
    expect([...back.embeddings.fused]).toEqual([...original.embeddings.fused]);
    expect([...back.embeddings['3']]).toEqual([...original.embeddings['3']]);
    expect(back.thumbnail).toBeInstanceOf(Blob);
    expect(back.thumbnail!.type).toBe('image/jpeg');
    expect(await bytesOf(back.thumbnail!)).toEqual(await bytesOf(original.thumbnail!));
    expect({ ...back, embeddings: undefined, thumbnail: undefined }).toEqual({ ...original, embeddings: undefined, thumbnail: undefined });
    expect(await store.count()).toBe(3);
  });

  it('replaces an entry whose id is already stored', async () => {
    const { store } = freshStore();
    await store.addMany([makeEntry(1)]);
    await store.addMany([{ ...makeEntry(1), identity: '0999' }]);
    const { entries } = await store.load();
    expect(entries.map((e) => [e.id, e.identity])).toEqual([['e1', '0999']]);
  });

  it('deletes one, then all entries', async () => {
    const { store } = freshStore();
    await store.addMany([0, 1, 2, 3, 4].map((i) => makeEntry(i)));
    await store.remove('e2');
    await store.remove('not-there');
    expect((await store.load()).entries.map((e) => e.id)).toEqual(['e0', 'e1', 'e3', 'e4']);
    await store.clear();
    expect(await store.count()).toBe(0);
  });

  it('replaceAll swaps the whole gallery', async () => {
    const { store } = freshStore();
    await store.addMany([makeEntry(1), makeEntry(2)]);
    await store.replaceAll([makeEntry(7)]);
    expect((await store.load()).entries.map((e) => e.id)).toEqual(['e7']);
  });

  it('a batch that fails inside the transaction stores nothing and leaves the existing entries intact', async () => {
    const { store } = freshStore();
    await store.addMany([makeEntry(1), makeEntry(2)]);
    // A function cannot be structured-cloned: put() throws DataCloneError on the third entry, after two
    // puts of the same transaction (one of them overwriting e1) were already issued.
    const poisoned = { ...makeEntry(5), onClick: () => 0 } as GalleryEntry;
    const batch = [{ ...makeEntry(1), identity: 'CHANGED' }, makeEntry(4), poisoned, makeEntry(6)];
    const e = await rejection(store.addMany(batch));
    expect(e.kind).toBe('unknown');
    expect(e.operation).toBe('save');
    const { entries } = await store.load();
    expect(entries.map((x) => [x.id, x.identity])).toEqual([
      ['e1', makeEntry(1).identity],
      ['e2', makeEntry(2).identity],
    ]);
    // and replaceAll keeps the old gallery when it fails
    await rejection(store.replaceAll([makeEntry(8), poisoned]));
    expect((await store.load()).entries.map((x) => x.id)).toEqual(['e1', 'e2']);
  });

  it('refuses a malformed entry or a duplicated id before touching storage', async () => {
    const { store } = freshStore();
    await store.addMany([makeEntry(1)]);
    const nan = makeEntry(2);
    nan.embeddings['2'] = nan.embeddings['2'].slice();
    nan.embeddings['2'][5] = NaN;
    let e = await rejection(store.addMany([makeEntry(3), nan]));
    expect(e.kind).toBe('invalid');
    expect(e.message).toBe('Nothing was saved: entry e2 embedding 2 holds NaN at index 5.');
    const short = makeEntry(4);
    short.embeddings.fused = short.embeddings.fused.subarray(0, 64);
    e = await rejection(store.addMany([short]));
    expect(e.message).toBe('Nothing was saved: entry e4 embedding fused has 64 values, expected 128.');
    e = await rejection(store.addMany([makeEntry(5), makeEntry(5)]));
    expect(e.message).toBe('Nothing was saved: id e5 appears twice in the batch.');
    expect((await store.load()).entries.map((x) => x.id)).toEqual(['e1']);
  });

  it('reports stored records that are not valid entries instead of returning them', async () => {
    const { name, store } = freshStore();
    await store.addMany([makeEntry(1)]);
    await set('legacy', { id: 'legacy', identity: '0001' }, createStore(name, 'entries'));
    const { entries, unreadable } = await store.load();
    expect(entries.map((e) => e.id)).toEqual(['e1']);
    expect(unreadable).toEqual([{ key: 'legacy', problem: 'has an invalid camera' }]);
  });
});

describe('GalleryStorageError.from', () => {
  it('maps QuotaExceededError to a "Storage is full" message', () => {
    const e = GalleryStorageError.from(new DOMException('The quota has been exceeded.', 'QuotaExceededError'), 'save');
    expect(e.kind).toBe('quota');
    expect(e.message).toMatch(/^Storage is full: /);
    expect(e.message).toContain('Nothing from this batch was saved.');
  });

  it('maps the errors of disabled or private-mode IndexedDB to "unavailable"', () => {
    for (const name of ['InvalidStateError', 'SecurityError']) {
      const e = GalleryStorageError.from(new DOMException('A mutation operation was attempted on a database that did not allow mutations.', name), 'load');
      expect(e.kind, name).toBe('unavailable');
      expect(e.message).toMatch(/^Browser storage \(IndexedDB\) is unavailable, so the app could not read the saved gallery/);
    }
  });

  it('keeps other errors as "unknown" with their detail', () => {
    const e = GalleryStorageError.from(new DOMException('Internal error opening backing store', 'UnknownError'), 'count');
    expect(e.kind).toBe('unknown');
    expect(e.message).toBe('Could not count the gallery: Internal error opening backing store');
  });
});
