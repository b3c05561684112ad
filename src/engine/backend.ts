// Starting the TF.js backend: the one the user forces (else the next that starts, down the order WebGPU,
// WebGL, wasm, cpu), or in Automatic mode the fastest on this device.
import * as tf from '@tensorflow/tfjs';
import {
  BACKEND_MEMORY_KEY,
  backendsToProbe,
  deviceFingerprint,
  rankBackends,
  rememberedFor,
  type AutoRanking,
  type BackendFacts,
  type BackendMemory,
  type ProbeResult,
} from './backendChoice';
import { factsOf, gatherFacts } from './backendFacts';
import { timeProbe } from './backendProbe';
import { errorMessage } from './errors';
import { BACKEND_ORDER, type BackendName, type BackendStatus } from './types';

export interface BackendOptions {
  /** Use this backend (if it initialises); the better ones are recorded as skipped, "forced by user".
   * Without it, Automatic mode picks the fastest backend on this device. */
  force?: BackendName;
  /** URL prefix (ending in '/') where the app serves tfjs-backend-wasm's .wasm files; in Node, the path of
   * node_modules/@tensorflow/tfjs-backend-wasm/dist/. Multithreaded wasm also needs cross-origin isolation. */
  wasmPaths?: string;
  /** Where Automatic mode remembers its choice for this device (idb-keyval's {get, set}); without it
   * every start chooses again. */
  memory?: BackendMemory;
}

/** Sets the backend (the forced one, falling back down the order if it fails; else Automatic mode's
 * choice) and says why each other backend was not used. Call {@link warmUp} after loading the model on it. */
export async function initBackend(options: BackendOptions = {}): Promise<BackendStatus> {
  return options.force ? initForced(options.force, options) : initAutomatic(options);
}

async function initForced(force: BackendName, options: BackendOptions): Promise<BackendStatus> {
  const skipped: BackendStatus['skipped'] = [];
  const start = BACKEND_ORDER.indexOf(force);
  for (const name of BACKEND_ORDER.slice(0, start)) skipped.push({ name, reason: `forced by user (${force})` });
  for (const name of BACKEND_ORDER.slice(start)) {
    const facts = await factsOf(name);
    const reason = facts.unavailable ?? (await trySetBackend(name, options));
    if (reason === null) return { active: name, skipped, detail: await describeBackend(facts) };
    skipped.push({ name, reason });
  }
  throw noBackend(skipped);
}

/** Fastest backend on this device: software renderers are passed over, GPU backends on real hardware
 * are timed against wasm (backendChoice.ts decides). The choice is remembered per device fingerprint,
 * so the probe runs again only when the browser, the CPU count or an adapter changes. */
async function initAutomatic(options: BackendOptions): Promise<BackendStatus> {
  const facts = await gatherFacts();
  const fingerprint = deviceFingerprint(facts, {
    userAgent: typeof navigator === 'undefined' ? undefined : navigator.userAgent,
    cores: typeof navigator === 'undefined' ? undefined : navigator.hardwareConcurrency,
  });
  const memory = options.memory;
  const remembered = memory && rememberedFor(await memory.get(BACKEND_MEMORY_KEY).catch(() => undefined), fingerprint);
  let ranking: AutoRanking;
  if (remembered) {
    ranking = { ...remembered, why: `${remembered.why}; remembered for this device since ${new Date(remembered.decidedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC` };
  } else {
    const probes: ProbeResult[] = [];
    for (const name of backendsToProbe(facts)) probes.push(await probeOn(name, options));
    ranking = rankBackends(facts, probes);
    await memory?.set(BACKEND_MEMORY_KEY, { ...ranking, fingerprint, decidedAt: Date.now() }).catch(() => undefined);
  }

  const reasons = { ...ranking.reasons };
  for (const name of ranking.order) {
    const failed = await trySetBackend(name, options);
    if (failed === null) {
      const skipped = BACKEND_ORDER.flatMap((n) => (n !== name && reasons[n] ? [{ name: n, reason: reasons[n] }] : []));
      const why = name === ranking.order[0] ? ranking.why : 'the backends ranked ahead of it failed to start';
      return { active: name, skipped, choice: `Automatic: ${why}`, detail: await describeBackend(facts.find((f) => f.name === name) ?? { name }) };
    }
    reasons[name] = failed;
  }
  throw noBackend(BACKEND_ORDER.flatMap((n) => (reasons[n] ? [{ name: n, reason: reasons[n] }] : [])));
}

async function probeOn(name: BackendName, options: BackendOptions): Promise<ProbeResult> {
  const failed = await trySetBackend(name, options);
  if (failed) return { name, error: failed };
  try {
    return { name, ms: await timeProbe() };
  } catch (e) {
    return { name, error: errorMessage(e) };
  }
}

function noBackend(skipped: BackendStatus['skipped']): Error {
  return new Error(`no TF.js backend could be initialised: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** null when `name` is now the active backend, else why not. */
async function trySetBackend(name: BackendName, options: BackendOptions): Promise<string | null> {
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

async function describeBackend(facts: BackendFacts): Promise<string | undefined> {
  const { name } = facts;
  if (name === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm');
    return `SIMD ${simd ? 'on' : 'off'}, ${threads ? `${getThreadsCount()} threads` : 'single thread'}`;
  }
  if (name === 'webgpu') {
    const info = (tf.backend() as tf.KernelBackend & { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo;
    const parts = [info?.vendor, info?.architecture].filter(Boolean);
    return parts.length ? parts.join(' ') : facts.device;
  }
  // Forcing a GPU backend onto a software renderer is allowed; the panel says what it runs on.
  return facts.device;
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
