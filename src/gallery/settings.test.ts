import 'fake-indexeddb/auto';
import { createStore, set } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend';
import { BACKEND_MEMORY_KEY } from '../engine/backendChoice';
import { WASM_DIR } from '../engine/node/testModel';
import type { StageCosts } from '../engine/types';
import { GalleryStorageError } from './errors';
import { openSettingsStore } from './settings';

describe('openSettingsStore', () => {
  it('keeps typed settings across opens of the same database', async () => {
    const a = openSettingsStore('settings-test-1');
    expect(await a.get('budgetMs')).toBeUndefined();
    await a.set('budgetMs', 40);
    await a.set('backend', 'wasm');
    await a.set('flip', true);
    await a.set('budgetMs', Infinity);
    const b = openSettingsStore('settings-test-1');
    expect(await b.get('budgetMs')).toBe(Infinity);
    expect(await b.get('backend')).toBe('wasm');
    expect(await b.get('flip')).toBe(true);
  });

  it('ignores a stored value of the wrong type and refuses to write one', async () => {
    await set('budgetMs', 'fast', createStore('settings-test-2', 'settings'));
    const s = openSettingsStore('settings-test-2');
    expect(await s.get('budgetMs')).toBeUndefined();
    const e = await s.set('budgetMs', -5).then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(GalleryStorageError);
    expect((e as GalleryStorageError).kind).toBe('invalid');
    await expect(s.set('backend', 'metal' as 'wasm')).rejects.toThrow('Invalid value for setting backend: metal');
  });

  it('stores the engine calibration apart from the settings', async () => {
    const s = openSettingsStore('settings-test-3');
    const costs: StageCosts = { backend: 'wasm', modelUrl: '/m.json', ms: [1, 2, 3, 4, 0.5], samples: 5, updatedAt: 1 };
    const storage = s.costStorage();
    await storage.set('flip', costs);
    expect(await storage.get('flip')).toEqual(costs);
    expect(await s.get('flip')).toBeUndefined();
    expect(await openSettingsStore('settings-test-3').costStorage().get('flip')).toEqual(costs);
  });

  it('keeps the automatic backend choice apart from the settings, and through an engine start', async () => {
    const memory = openSettingsStore('settings-test-4').backendMemory();
    const status = await initBackend({ wasmPaths: WASM_DIR, memory });
    const stored = await openSettingsStore('settings-test-4').backendMemory().get(BACKEND_MEMORY_KEY);
    expect(stored).toMatchObject({ order: [status.active, 'cpu'] });
    expect(await openSettingsStore('settings-test-4').get('backend')).toBeUndefined();
    const again = await initBackend({ wasmPaths: WASM_DIR, memory: openSettingsStore('settings-test-4').backendMemory() });
    expect(again.choice).toMatch(/remembered for this device/);
  });
});
