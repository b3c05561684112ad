// Choosing the TF.js backend: WebGPU, else WebGL, else wasm, else cpu, or the one the user forces.
import * as tf from '@tensorflow/tfjs';
import { errorMessage } from './errors';
import { BACKEND_ORDER, type BackendName, type BackendStatus } from './types';

export interface BackendOptions {
  /** Use this backend (if it initialises); the better ones are recorded as skipped, "forced by user". */
  force?: BackendName;
  /** URL prefix (ending in '/') where the app serves tfjs-backend-wasm's .wasm files; in Node, the path of
   * node_modules/@tensorflow/tfjs-backend-wasm/dist/. Multithreaded wasm also needs cross-origin isolation. */
  wasmPaths?: string;
}

/** Sets the best available backend (or the forced one, falling back down the order if it fails) and
 * says why each better backend was skipped. Call {@link warmUp} after loading the model on it. */
export async function initBackend(options: BackendOptions = {}): Promise<BackendStatus> {
  const skipped: BackendStatus['skipped'] = [];
  const start = options.force ? BACKEND_ORDER.indexOf(options.force) : 0;
  for (const name of BACKEND_ORDER.slice(0, start)) skipped.push({ name, reason: `forced by user (${options.force})` });
  for (const name of BACKEND_ORDER.slice(start)) {
    const reason = await trySetBackend(name, options);
    if (reason === null) return { active: name, skipped, detail: await describeBackend(name) };
    skipped.push({ name, reason });
  }
  throw new Error(`no TF.js backend could be initialised: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** null when `name` is now the active backend, else why not. */
async function trySetBackend(name: BackendName, options: BackendOptions): Promise<string | null> {
  const unavailable = await precheck(name);
  if (unavailable) return unavailable;
  try {
    await registerBackend(name, options);
    // setBackend resolves false without saying why; tfjs logs the cause through console.warn.
    const { result, warnings } = await captureWarnings(() => tf.setBackend(name));
    if (!result) return `init failed: ${warnings.filter((w) => !w.startsWith('Initialization of backend')).join(' ').split('\n')[0] || 'no message'}`;
    await tf.ready();
    return null;
  } catch (e) {
    return `init failed: ${errorMessage(e)}`;
  }
}

/** The WebGPU and wasm backends are loaded only when tried: the app does not download the ones it does
 * not use, and tfjs-backend-webgpu registers itself only if navigator.gpu exists when it loads. */
async function registerBackend(name: BackendName, options: BackendOptions): Promise<void> {
  if (name === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (options.wasmPaths) wasm.setWasmPaths(options.wasmPaths);
  }
}

/** A clearer reason than tfjs' own for the usual cases where a backend cannot work here. */
async function precheck(name: BackendName): Promise<string | null> {
  if (name === 'webgpu') {
    const gpu = typeof navigator === 'undefined' ? undefined : (navigator as Navigator & { gpu?: GPU }).gpu;
    if (!gpu) return 'no navigator.gpu (WebGPU not supported or not enabled)';
    try {
      await import('@tensorflow/tfjs-backend-webgpu'); // registers the WEBGPU_* flags read below
      // Same request as tfjs' factory: it fails with an opaque TypeError when this returns null.
      const lowPower = tf.env().getBool('WEBGPU_USE_LOW_POWER_GPU');
      if (!(await gpu.requestAdapter({ powerPreference: lowPower ? 'low-power' : 'high-performance' }))) return 'no WebGPU adapter';
    } catch (e) {
      return `no WebGPU adapter: ${errorMessage(e)}`;
    }
  } else if (name === 'webgl') {
    if (typeof document === 'undefined' && typeof OffscreenCanvas === 'undefined') return 'no canvas to create a WebGL context on';
  }
  return null;
}

async function describeBackend(name: BackendName): Promise<string | undefined> {
  if (name === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm');
    return `SIMD ${simd ? 'on' : 'off'}, ${threads ? `${getThreadsCount()} threads` : 'single thread'}`;
  }
  if (name === 'webgpu') {
    const info = (tf.backend() as tf.KernelBackend & { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo;
    const parts = [info?.vendor, info?.architecture].filter(Boolean);
    return parts.length ? parts.join(' ') : undefined;
  }
  return undefined;
}

async function captureWarnings<T>(fn: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map(String).join(' '));
  };
  try {
    return { result: await fn(), warnings };
  } finally {
    console.warn = original;
  }
}
