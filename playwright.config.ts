import os from 'node:os';
import path from 'node:path';
import { defineConfig } from '@playwright/test';
import { CHROMIUM_LAUNCH } from './e2e/support/browser';

const PORT = Number(process.env.E2E_PORT ?? 4180);
/** The served app's hub keeps its data outside the repo (the hub tests start hubs of their own). */
const HUB_DIR = process.env.E2E_HUB_DIR ?? path.join(os.tmpdir(), `anytime-reid-e2e-hub-${PORT}`);

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  globalSetup: './e2e/global-setup.ts',
  // The real model on the wasm backend, on a small shared machine.
  timeout: 90_000,
  expect: { timeout: 20_000 },
  fullyParallel: true,
  workers: Number(process.env.E2E_WORKERS ?? 2),
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  use: {
    baseURL: `http://localhost:${PORT}`,
    browserName: 'chromium',
    launchOptions: CHROMIUM_LAUNCH,
    // Only the offline test needs the service worker; elsewhere its precaching (≈30 MB) is wasted work.
    serviceWorkers: 'block',
    acceptDownloads: true,
    trace: 'retain-on-failure',
  },
  // What `npm start` does: install what is missing, build, serve the production build.
  webServer: {
    command: 'node scripts/start.mjs',
    url: `http://localhost:${PORT}/`,
    env: { PORT: String(PORT), HUB_DIR },
    reuseExistingServer: false,
    timeout: 300_000,
    stdout: 'pipe',
  },
});
