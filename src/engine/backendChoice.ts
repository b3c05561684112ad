// Automatic mode's decision, kept free of tfjs and of the browser so that it can be tested in Node: which
// backends are worth timing, which one wins, and whether a choice remembered for this device still fits.
//
// A GPU backend on a software renderer (SwiftShader, llvmpipe, Windows' Basic Render Driver…) runs the
// model on the CPU through an emulated GPU: on a 2-core VM WebGPU on SwiftShader took 1,636 ms for stage 1
// and WebGL 273 ms, against 9.3 ms on wasm. Such backends are never picked by themselves; real GPUs are
// timed against wasm with a short probe, and the fastest wins.
import { BACKEND_ORDER, type BackendName } from './types';

/** What can be learnt about a backend without starting it. */
export interface BackendFacts {
  name: BackendName;
  /** Why it cannot run here (no navigator.gpu, no adapter, no canvas…); absent when it may. */
  unavailable?: string;
  /** The adapter or renderer it would run on (WebGPU adapter info, WebGL's unmasked renderer). */
  device?: string;
  /** True when the browser itself says the adapter is a fallback (software) one. */
  fallbackAdapter?: boolean;
}

/** One timed probe: its median ms, or why it could not run. */
export type ProbeResult = { name: BackendName; ms: number } | { name: BackendName; error: string };

export interface AutoRanking {
  /** The backends to try, in order: the choice first, then the fallbacks. */
  order: BackendName[];
  /** Why each backend that is not the choice was passed over. */
  reasons: Partial<Record<BackendName, string>>;
  /** One sentence on why the first of `order` was chosen, for the engine panel. */
  why: string;
}

/** The choice as remembered for one device (what Automatic mode stores between visits). */
export interface RememberedBackend extends AutoRanking {
  fingerprint: string;
  /** When the probe behind it ran (ms since the epoch). */
  decidedAt: number;
}

/** Where Automatic mode remembers its choice. idb-keyval's `get` and `set` fit as they are. */
export interface BackendMemory {
  get(key: string): Promise<unknown>;
  set(key: string, value: RememberedBackend): Promise<void>;
}

export const BACKEND_MEMORY_KEY = 'auto-backend';

const GPU_BACKENDS: readonly BackendName[] = ['webgpu', 'webgl'];

/** Known CPU implementations of GPU APIs, by the name they show in adapter info or renderer strings. */
const SOFTWARE_RENDERERS: readonly [RegExp, string][] = [
  [/swiftshader/i, 'SwiftShader'],
  [/llvmpipe/i, 'llvmpipe'],
  [/lavapipe/i, 'lavapipe'],
  [/softpipe/i, 'softpipe'],
  [/basic render driver/i, 'Microsoft Basic Render Driver'],
  [/software rasteri[sz]er/i, 'a software rasterizer'],
  [/apple software renderer/i, 'Apple Software Renderer'],
];

/** The software renderer `device` names, or null when it names none (a real GPU, or nothing known). */
export function softwareRenderer(device: string | undefined): string | null {
  if (!device) return null;
  for (const [pattern, name] of SOFTWARE_RENDERERS) if (pattern.test(device)) return name;
  return null;
}

function softwareReason(facts: BackendFacts): string | null {
  const name = softwareRenderer(facts.device) ?? (facts.fallbackAdapter ? 'a fallback adapter' : null);
  return name && `software renderer (${name}): runs on the CPU, far slower than wasm`;
}

/** The GPU backends worth timing against wasm (and wasm itself), or [] when none is: then wasm wins
 * without a probe. */
export function backendsToProbe(facts: readonly BackendFacts[]): BackendName[] {
  const gpus = facts.filter((f) => GPU_BACKENDS.includes(f.name) && !f.unavailable && !softwareReason(f)).map((f) => f.name);
  return gpus.length ? [...gpus, 'wasm'] : [];
}

const fmtMs = (ms: number) => `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;

/** Ranks the backends from what is known of them and from the probes of {@link backendsToProbe}'s list:
 * the fastest probe first (ties go to the usual order), then the rest of the usual order; cpu last. */
export function rankBackends(facts: readonly BackendFacts[], probes: readonly ProbeResult[]): AutoRanking {
  const reasons: AutoRanking['reasons'] = {};
  for (const f of facts) {
    const reason = f.unavailable ?? (GPU_BACKENDS.includes(f.name) ? softwareReason(f) : null);
    if (reason) reasons[f.name] = reason;
  }
  const timed = probes
    .flatMap((p) => ('ms' in p ? [p] : []))
    .sort((a, b) => a.ms - b.ms || BACKEND_ORDER.indexOf(a.name) - BACKEND_ORDER.indexOf(b.name));
  for (const p of probes) if ('error' in p) reasons[p.name] = `probe failed: ${p.error}`;
  const winner = timed[0];
  for (const p of timed.slice(1)) reasons[p.name] = `slower here: probe ${fmtMs(p.ms)} against ${fmtMs(winner.ms)} on ${winner.name}`;

  const rest = BACKEND_ORDER.filter((name) => name !== 'cpu' && !timed.some((p) => p.name === name) && !reasons[name]);
  const order = [...timed.map((p) => p.name), ...rest, 'cpu' as const];
  const first = order[0];
  const why = winner
    ? `fastest on a short probe here (${timed.map((p) => `${p.name} ${fmtMs(p.ms)}`).join(', ')})`
    : first === 'wasm'
      ? 'no GPU backend on real hardware here, so wasm'
      : `the first backend that may run here`;
  return { order, reasons, why };
}

/** What identifies this device for the remembered choice: the browser, the CPU count and every
 * backend's adapter (or why it is unavailable). A new adapter, driver or browser version means a new probe. */
export function deviceFingerprint(facts: readonly BackendFacts[], browser: { userAgent?: string; cores?: number }): string {
  const backends = facts.map((f) => `${f.name}=${f.unavailable ? `unavailable:${f.unavailable}` : (f.device ?? '')}${f.fallbackAdapter ? ' (fallback)' : ''}`);
  return [browser.userAgent ?? '', String(browser.cores ?? ''), ...backends].join('|');
}

/** The remembered choice when `stored` is one and fits this device; null otherwise (or when it is
 * damaged or from an older version: then the device is probed again). */
export function rememberedFor(stored: unknown, fingerprint: string): RememberedBackend | null {
  if (!isRemembered(stored) || stored.fingerprint !== fingerprint) return null;
  return stored;
}

const isBackendName = (v: unknown): v is BackendName => (BACKEND_ORDER as readonly unknown[]).includes(v);

function isRemembered(v: unknown): v is RememberedBackend {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.fingerprint === 'string' &&
    typeof r.why === 'string' &&
    typeof r.decidedAt === 'number' &&
    Array.isArray(r.order) &&
    r.order.length > 0 &&
    r.order.every(isBackendName) &&
    typeof r.reasons === 'object' &&
    r.reasons !== null &&
    Object.entries(r.reasons).every(([k, reason]) => isBackendName(k) && typeof reason === 'string')
  );
}
