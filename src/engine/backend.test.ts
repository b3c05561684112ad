import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { openSettingsStore } from '../gallery/settings';
import { BACKEND_MEMORY_KEY, type RememberedBackend } from './backendChoice';
import { WASM_DIR } from './node/testModel';

// Node has neither navigator.gpu nor a canvas: the real fallbacks and their reasons are observable.
describe('initBackend (in Node)', () => {
  it('falls back from WebGPU and WebGL to wasm, saying why', async () => {
    const status = await initBackend({ wasmPaths: WASM_DIR });
    expect(status.active).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(status.skipped).toEqual([
      { name: 'webgpu', reason: expect.stringMatching(/no navigator\.gpu/) },
      { name: 'webgl', reason: expect.stringMatching(/no canvas/) },
    ]);
    expect(status.choice).toMatch(/^Automatic: no GPU backend on real hardware/);
    expect(status.detail).toMatch(/SIMD (on|off)/);
  });

  it('remembers the automatic choice for this device and reuses it', async () => {
    // The app's own store (IndexedDB, here fake-indexeddb).
    const memory = openSettingsStore('backend-test-memory').backendMemory();
    const first = await initBackend({ wasmPaths: WASM_DIR, memory });
    const stored = (await memory.get(BACKEND_MEMORY_KEY)) as RememberedBackend;
    expect(stored.order[0]).toBe('wasm');
    expect(stored.fingerprint).toContain('webgpu=unavailable:no navigator.gpu');

    // What is stored is what is used: a remembered cpu choice for this very device is honoured…
    await memory.set(BACKEND_MEMORY_KEY, { ...stored, order: ['cpu'], why: 'test choice' });
    const second = await initBackend({ wasmPaths: WASM_DIR, memory });
    expect(second.active).toBe('cpu');
    expect(second.choice).toMatch(/^Automatic: test choice; remembered for this device since \d{4}-/);

    // …and one made on another device is not: the device is probed again and the choice rewritten.
    await memory.set(BACKEND_MEMORY_KEY, { ...stored, order: ['cpu'], fingerprint: 'another device' });
    const third = await initBackend({ wasmPaths: WASM_DIR, memory });
    expect(third.active).toBe('wasm');
    expect(third.choice).toBe(first.choice);
    expect(((await memory.get(BACKEND_MEMORY_KEY)) as RememberedBackend).fingerprint).toBe(stored.fingerprint);
  });

  it('still starts when the memory cannot be read or written', async () => {
    const broken = { get: () => Promise.reject(new Error('no IndexedDB')), set: () => Promise.reject(new Error('no IndexedDB')) };
    expect((await initBackend({ wasmPaths: WASM_DIR, memory: broken })).active).toBe('wasm');
  });

  it('honours a forced backend and records the better ones as forced away', async () => {
    const status = await initBackend({ force: 'cpu', wasmPaths: WASM_DIR });
    expect(status.active).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(status.skipped.map((s) => [s.name, s.reason])).toEqual([
      ['webgpu', 'forced by user (cpu)'],
      ['webgl', 'forced by user (cpu)'],
      ['wasm', 'forced by user (cpu)'],
    ]);
  });

  it('goes on down the order when the forced backend cannot start', async () => {
    const status = await initBackend({ force: 'webgl', wasmPaths: WASM_DIR });
    expect(status.active).toBe('wasm');
    expect(status.skipped.map((s) => s.name)).toEqual(['webgpu', 'webgl']);
    expect(status.skipped[0].reason).toMatch(/forced by user/);
    expect(status.skipped[1].reason).toMatch(/no canvas/);
  });
});
