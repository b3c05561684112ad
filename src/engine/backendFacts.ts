// What the browser says about each backend before any is started: whether it can run here at all, and on
// which adapter or renderer (a software one gives itself away by name).
import * as tf from '@tensorflow/tfjs';
import type { BackendFacts } from './backendChoice';
import { errorMessage } from './errors';
import type { BackendName } from './types';

/** The facts of every backend, in the usual order. wasm and cpu need nothing from the device. */
export async function gatherFacts(): Promise<BackendFacts[]> {
  return [await webgpuFacts(), webglFacts(), { name: 'wasm' }, { name: 'cpu' }];
}

export async function factsOf(name: BackendName): Promise<BackendFacts> {
  if (name === 'webgpu') return webgpuFacts();
  if (name === 'webgl') return webglFacts();
  return { name };
}

interface AdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
/** `info` is newer than the bundled @webgpu/types; older browsers have only requestAdapterInfo(). */
type AdapterWithInfo = Omit<GPUAdapter, 'requestAdapterInfo'> & { info?: AdapterInfo; requestAdapterInfo?: () => Promise<AdapterInfo> };

async function webgpuFacts(): Promise<BackendFacts> {
  const gpu = typeof navigator === 'undefined' ? undefined : (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { name: 'webgpu', unavailable: 'no navigator.gpu (WebGPU not supported or not enabled)' };
  try {
    await import('@tensorflow/tfjs-backend-webgpu'); // registers the WEBGPU_* flags read below
    // Same request as tfjs' factory: it fails with an opaque TypeError when this returns null.
    const lowPower = tf.env().getBool('WEBGPU_USE_LOW_POWER_GPU');
    const adapter = (await gpu.requestAdapter({ powerPreference: lowPower ? 'low-power' : 'high-performance' })) as AdapterWithInfo | null;
    if (!adapter) return { name: 'webgpu', unavailable: 'no WebGPU adapter' };
    const info = adapter.info ?? (await adapter.requestAdapterInfo?.().catch(() => undefined));
    const device = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ');
    return { name: 'webgpu', device: device || undefined, fallbackAdapter: info?.isFallbackAdapter ?? adapter.isFallbackAdapter };
  } catch (e) {
    return { name: 'webgpu', unavailable: `no WebGPU adapter: ${errorMessage(e)}` };
  }
}

type GlContext = WebGLRenderingContext | WebGL2RenderingContext;

/** Opens a throwaway context (as tfjs will: WebGL 2, else 1) to read the unmasked renderer, then drops it. */
function webglFacts(): BackendFacts {
  const canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(1, 1) : typeof document !== 'undefined' ? document.createElement('canvas') : null;
  if (!canvas) return { name: 'webgl', unavailable: 'no canvas to create a WebGL context on' };
  const open = (id: 'webgl2' | 'webgl') => (canvas as HTMLCanvasElement).getContext(id) as GlContext | null;
  let gl: GlContext | null;
  try {
    gl = open('webgl2') ?? open('webgl');
  } catch (e) {
    return { name: 'webgl', unavailable: `no WebGL context: ${errorMessage(e)}` };
  }
  if (!gl) return { name: 'webgl', unavailable: 'no WebGL context (WebGL disabled, or the GPU is blocklisted)' };
  try {
    const debug = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer: unknown = gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
    return { name: 'webgl', device: typeof renderer === 'string' && renderer ? renderer : undefined };
  } finally {
    gl.getExtension('WEBGL_lose_context')?.loseContext();
  }
}
