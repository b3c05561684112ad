// No fake-indexeddb here: Node has no IndexedDB, like a browser that disables it.
import { describe, expect, it } from 'vitest';
import { GalleryStorageError } from './errors';
import { makeEntry } from './node/testEntries';
import { openSettingsStore } from './settings';
import { openGalleryStore } from './store';

describe('without IndexedDB', () => {
  it('every gallery and settings call rejects with kind "unavailable"', async () => {
    expect(typeof indexedDB).toBe('undefined');
    const store = openGalleryStore();
    const settings = openSettingsStore();
    const calls: (() => Promise<unknown>)[] = [
      () => store.load(),
      () => store.addMany([makeEntry(1)]),
      () => store.count(),
      () => store.clear(),
      () => store.remove('e1'),
      () => settings.get('budgetMs'),
      () => settings.set('flip', true),
    ];
    for (const call of calls) {
      const e = await call().then(() => null, (err: unknown) => err);
      expect(e).toBeInstanceOf(GalleryStorageError);
      expect((e as GalleryStorageError).kind).toBe('unavailable');
      expect((e as GalleryStorageError).message).toContain('Browser storage (IndexedDB) is unavailable');
    }
  });
});
