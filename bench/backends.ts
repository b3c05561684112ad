// npm run bench:backends [-- --modes auto,auto-no-webgpu,webgpu,webgl,wasm] [--runs 1] [--url http://localhost:4173/]
//
// Time to ready per backend in Chromium, each run from a fresh browser profile (nothing cached: model,
// compiled shaders, calibrated costs and Automatic mode's remembered choice all start from nothing):
// from the navigation to the engine panel's "ready", i.e. backend start (and Automatic's choice), model
// download, warm-up and first-run calibration. Also reads the backend the app ended on, Automatic's
// reason and the calibrated stage-1 cost. Serves the production build itself (as `npm start` does)
// unless --url is given. Prints a table and writes bench/results/backends.json.
import { chromium } from '@playwright/test';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { CHROMIUM_ARGS, CHROMIUM_EXECUTABLE } from '../e2e/support/browser';
import { REPO_ROOT as ROOT, RESULTS_DIR } from './paths';

const WEBGPU_FLAG = '--enable-unsafe-webgpu';

/** What each mode opens: Automatic with and without WebGPU enabled, and each backend forced. */
const MODES: Record<string, { query: string; args: string[] }> = {
  auto: { query: '', args: CHROMIUM_ARGS },
  'auto-no-webgpu': { query: '', args: CHROMIUM_ARGS.filter((a) => a !== WEBGPU_FLAG) },
  webgpu: { query: '?backend=webgpu', args: CHROMIUM_ARGS },
  webgl: { query: '?backend=webgl', args: CHROMIUM_ARGS },
  wasm: { query: '?backend=wasm', args: CHROMIUM_ARGS },
};

const { values: opts } = parseArgs({
  options: {
    modes: { type: 'string', default: 'auto,auto-no-webgpu,webgpu,webgl,wasm' },
    runs: { type: 'string', default: '1' },
    url: { type: 'string' },
    port: { type: 'string', default: '4190' },
    'timeout-s': { type: 'string', default: '600' },
  },
});
const modes = opts.modes.split(',');
for (const m of modes) if (!MODES[m]) throw new Error(`unknown mode ${m}: use ${Object.keys(MODES).join(', ')}`);
const runs = Math.max(1, Number(opts.runs));
const timeoutMs = Number(opts['timeout-s']) * 1000;

interface Run {
  mode: string;
  run: number;
  readyMs: number | null;
  backend: string;
  choice: string | null;
  skipped: string[];
  stage1Ms: number | null;
  error?: string;
}

/** Starts `npm start`'s server on `port` and resolves with its URL once it listens. */
async function serve(port: string): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [join(ROOT, 'scripts/start.mjs')], { cwd: ROOT, env: { ...process.env, PORT: port }, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /running at (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`npm start exited (${code}) before serving:\n${out}`)));
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

async function measure(url: string, mode: string, run: number): Promise<Run> {
  const profile = mkdtempSync(join(tmpdir(), 'anytime-reid-bench-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_EXECUTABLE, args: MODES[mode].args, serviceWorkers: 'block' });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const started = performance.now();
    await page.goto(new URL(MODES[mode].query, url).href);
    const status = page.getByTestId('model-status');
    await status.and(page.locator('[data-status="ready"], [data-status="error"]')).waitFor({ timeout: timeoutMs });
    const readyMs = performance.now() - started;
    const failed = (await status.getAttribute('data-status')) === 'error';
    const choice = page.getByTestId('backend-choice');
    const stage1 = await page.locator('.stage-costs tbody tr').first().locator('td').first().textContent();
    return {
      mode,
      run,
      readyMs: failed ? null : readyMs,
      backend: (await page.getByTestId('backend').textContent()) ?? '',
      choice: (await choice.count()) ? await choice.textContent() : null,
      skipped: await page.locator('.skipped li').allTextContents(),
      stage1Ms: stage1 ? Number.parseFloat(stage1) : null,
      error: failed ? ((await page.locator('.engine p.muted').last().textContent()) ?? 'error') : undefined,
    };
  } catch (e) {
    return { mode, run, readyMs: null, backend: '', choice: null, skipped: [], stage1Ms: null, error: e instanceof Error ? e.message.split('\n')[0] : String(e) };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

const server = opts.url ? { url: opts.url, stop: () => undefined } : await serve(opts.port);
const results: Run[] = [];
try {
  for (let run = 1; run <= runs; run++) {
    for (const mode of modes) {
      const r = await measure(server.url, mode, run);
      results.push(r);
      console.log(`${mode} run ${run}: ${r.readyMs === null ? `not ready (${r.error})` : `ready in ${(r.readyMs / 1000).toFixed(1)} s`} on ${r.backend}`);
    }
  }
} finally {
  server.stop();
}

const fmt = (ms: number | null, digits = 1) => (ms === null ? '–' : (ms / 1000).toFixed(digits));
console.log('\n| mode | ends on | time to ready (s) | stage 1 (ms, calibrated) | why (Automatic) |');
console.log('| --- | --- | ---: | ---: | --- |');
for (const r of results) {
  console.log(`| ${r.mode}${runs > 1 ? ` #${r.run}` : ''} | ${r.backend} | ${fmt(r.readyMs)} | ${r.stage1Ms ?? '–'} | ${r.choice ?? ''} |`);
}
for (const r of results.filter((x) => x.skipped.length)) console.log(`${r.mode}: not used: ${r.skipped.join('; ')}`);

const out = join(RESULTS_DIR, 'backends.json');
mkdirSync(dirname(out), { recursive: true });
const chromiumVersion = spawnSync(CHROMIUM_EXECUTABLE, ['--version'], { encoding: 'utf8' }).stdout?.trim();
const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, chromium: chromiumVersion || CHROMIUM_EXECUTABLE, at: new Date().toISOString() };
writeFileSync(out, JSON.stringify({ machine, results }, null, 2) + '\n');
console.log(`\nwrote ${out}`);
