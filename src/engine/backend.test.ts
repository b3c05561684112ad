import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from './backend';
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
    expect(status.detail).toMatch(/SIMD (on|off)/);
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
