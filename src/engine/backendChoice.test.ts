import { describe, expect, it } from 'vitest';
import {
  backendsToProbe,
  deviceFingerprint,
  rankBackends,
  rememberedFor,
  softwareRenderer,
  type BackendFacts,
  type RememberedBackend,
} from './backendChoice';

// Adapter and renderer strings as browsers report them.
const SWIFTSHADER_GL = 'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)';
const LLVMPIPE_GL = 'llvmpipe (LLVM 15.0.6, 256 bits)';
const BASIC_RENDER_GL = 'ANGLE (Microsoft, Microsoft Basic Render Driver (0x0000008C) Direct3D11 vs_5_0 ps_5_0, D3D11)';
const NVIDIA_GL = 'ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 (0x00002503) Direct3D11 vs_5_0 ps_5_0, D3D11)';
const INTEL_GL = 'ANGLE (Intel, Mesa Intel(R) UHD Graphics 620 (KBL GT2), OpenGL 4.6)';

/** This machine with --enable-unsafe-webgpu: Chromium's WebGPU adapter info and WebGL renderer. */
const SOFTWARE_ONLY: BackendFacts[] = [
  { name: 'webgpu', device: 'google swiftshader', fallbackAdapter: true },
  { name: 'webgl', device: SWIFTSHADER_GL },
  { name: 'wasm' },
  { name: 'cpu' },
];
const REAL_GPU: BackendFacts[] = [
  { name: 'webgpu', device: 'nvidia ampere', fallbackAdapter: false },
  { name: 'webgl', device: NVIDIA_GL },
  { name: 'wasm' },
  { name: 'cpu' },
];

describe('softwareRenderer', () => {
  it('names the CPU implementations of GPU APIs', () => {
    expect(softwareRenderer(SWIFTSHADER_GL)).toBe('SwiftShader');
    expect(softwareRenderer('google swiftshader')).toBe('SwiftShader');
    expect(softwareRenderer(LLVMPIPE_GL)).toBe('llvmpipe');
    expect(softwareRenderer('Mesa lavapipe')).toBe('lavapipe');
    expect(softwareRenderer(BASIC_RENDER_GL)).toBe('Microsoft Basic Render Driver');
  });

  it('takes real GPUs and unknown devices for hardware', () => {
    expect(softwareRenderer(NVIDIA_GL)).toBeNull();
    expect(softwareRenderer(INTEL_GL)).toBeNull();
    expect(softwareRenderer('apple metal-3')).toBeNull();
    expect(softwareRenderer(undefined)).toBeNull();
    expect(softwareRenderer('')).toBeNull();
  });
});

describe('Automatic mode on a machine without a GPU', () => {
  it('needs no probe and picks wasm, saying why WebGPU and WebGL were passed over', () => {
    expect(backendsToProbe(SOFTWARE_ONLY)).toEqual([]);
    const ranking = rankBackends(SOFTWARE_ONLY, []);
    expect(ranking.order).toEqual(['wasm', 'cpu']);
    expect(ranking.reasons.webgpu).toMatch(/software renderer \(SwiftShader\)/);
    expect(ranking.reasons.webgl).toMatch(/software renderer \(SwiftShader\)/);
    expect(ranking.reasons.wasm).toBeUndefined();
    expect(ranking.why).toMatch(/no GPU backend on real hardware/);
  });

  it('passes over an adapter the browser calls a fallback even when its name is unknown', () => {
    const facts: BackendFacts[] = [{ name: 'webgpu', device: 'acme gpu9000', fallbackAdapter: true }, { name: 'webgl', unavailable: 'no WebGL context' }, { name: 'wasm' }, { name: 'cpu' }];
    expect(backendsToProbe(facts)).toEqual([]);
    const ranking = rankBackends(facts, []);
    expect(ranking.reasons.webgpu).toMatch(/fallback adapter/);
    expect(ranking.reasons.webgl).toBe('no WebGL context');
    expect(ranking.order[0]).toBe('wasm');
  });

  it('in Node (no navigator.gpu, no canvas) goes to wasm with the unavailability reasons', () => {
    const facts: BackendFacts[] = [{ name: 'webgpu', unavailable: 'no navigator.gpu' }, { name: 'webgl', unavailable: 'no canvas' }, { name: 'wasm' }, { name: 'cpu' }];
    expect(backendsToProbe(facts)).toEqual([]);
    expect(rankBackends(facts, []).order).toEqual(['wasm', 'cpu']);
  });
});

describe('Automatic mode with a real GPU', () => {
  it('times both GPU backends against wasm', () => {
    expect(backendsToProbe(REAL_GPU)).toEqual(['webgpu', 'webgl', 'wasm']);
    // A software WebGL beside a hardware WebGPU is not worth timing.
    expect(backendsToProbe([REAL_GPU[0], { name: 'webgl', device: LLVMPIPE_GL }, REAL_GPU[2], REAL_GPU[3]])).toEqual(['webgpu', 'wasm']);
  });

  it('picks WebGPU when it is the fastest, and keeps the others as fallbacks in speed order', () => {
    const ranking = rankBackends(REAL_GPU, [
      { name: 'webgpu', ms: 1.2 },
      { name: 'webgl', ms: 2.5 },
      { name: 'wasm', ms: 4.1 },
    ]);
    expect(ranking.order).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
    expect(ranking.reasons.webgl).toBe('slower here: probe 2.5 ms against 1.2 ms on webgpu');
    expect(ranking.reasons.wasm).toBe('slower here: probe 4.1 ms against 1.2 ms on webgpu');
    expect(ranking.reasons.webgpu).toBeUndefined();
    expect(ranking.why).toBe('fastest on a short probe here (webgpu 1.2 ms, webgl 2.5 ms, wasm 4.1 ms)');
  });

  it('picks wasm over a GPU that is slower than it (a weak or busy GPU, an unknown software renderer)', () => {
    const ranking = rankBackends(REAL_GPU, [
      { name: 'webgpu', ms: 160 },
      { name: 'webgl', ms: 27 },
      { name: 'wasm', ms: 3.3 },
    ]);
    expect(ranking.order).toEqual(['wasm', 'webgl', 'webgpu', 'cpu']);
    expect(ranking.reasons.webgpu).toBe('slower here: probe 160 ms against 3.3 ms on wasm');
  });

  it('gives a tie to the usual order', () => {
    expect(rankBackends(REAL_GPU, [{ name: 'wasm', ms: 3 }, { name: 'webgl', ms: 3 }, { name: 'webgpu', ms: 3 }]).order).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
  });

  it('leaves out a backend whose probe failed, saying why', () => {
    const ranking = rankBackends(REAL_GPU, [
      { name: 'webgpu', error: 'init failed: device lost' },
      { name: 'webgl', ms: 2 },
      { name: 'wasm', ms: 4 },
    ]);
    expect(ranking.order).toEqual(['webgl', 'wasm', 'cpu']);
    expect(ranking.reasons.webgpu).toBe('probe failed: init failed: device lost');
  });
});

describe('the remembered choice', () => {
  const fingerprint = deviceFingerprint(REAL_GPU, { userAgent: 'Chrome/140', cores: 8 });
  const stored: RememberedBackend = { ...rankBackends(REAL_GPU, [{ name: 'webgpu', ms: 1 }, { name: 'wasm', ms: 4 }]), fingerprint, decidedAt: 1 };

  it('is used on the same device', () => {
    expect(rememberedFor(structuredClone(stored), fingerprint)).toEqual(stored);
  });

  it('no longer fits after a change of adapter, browser or CPU count', () => {
    const otherAdapter = deviceFingerprint([{ ...REAL_GPU[0], device: 'intel gen-12lp' }, ...REAL_GPU.slice(1)], { userAgent: 'Chrome/140', cores: 8 });
    const webgpuTurnedOff = deviceFingerprint([{ name: 'webgpu', unavailable: 'no navigator.gpu' }, ...REAL_GPU.slice(1)], { userAgent: 'Chrome/140', cores: 8 });
    for (const other of [otherAdapter, webgpuTurnedOff, deviceFingerprint(REAL_GPU, { userAgent: 'Chrome/141', cores: 8 }), deviceFingerprint(REAL_GPU, { userAgent: 'Chrome/140', cores: 4 })]) {
      expect(other).not.toBe(fingerprint);
      expect(rememberedFor(stored, other)).toBeNull();
    }
  });

  it('is ignored when damaged or from another version', () => {
    for (const bad of [undefined, null, 'webgpu', { ...stored, order: [] }, { ...stored, order: ['metal'] }, { ...stored, reasons: { webgpu: 3 } }, { ...stored, why: undefined }]) {
      expect(rememberedFor(bad, fingerprint)).toBeNull();
    }
  });
});
