// Automatic mode from a fresh browser profile, with WebGPU enabled (--enable-unsafe-webgpu, as every test
// here runs): on this GPU-less machine WebGPU and WebGL run on SwiftShader, far slower than wasm, so the
// app must pick wasm by itself, be ready within the 30 s, say why, and remember the choice.
import { chromium, expect, test } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM_LAUNCH } from './support/browser';
import { expectReady, READY_TIMEOUT } from './support/app';

/** The target for Automatic mode on this machine, from a fresh profile. */
const AUTOMATIC_READY_MS = 30_000;

test('Automatic passes over SwiftShader, runs on wasm, says why and remembers it; forcing still works', async ({ baseURL }, testInfo) => {
  test.setTimeout(300_000);
  const profile = mkdtempSync(join(tmpdir(), 'anytime-reid-profile-'));
  const context = await chromium.launchPersistentContext(profile, { ...CHROMIUM_LAUNCH, baseURL, serviceWorkers: 'block' });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const started = Date.now();
    await page.goto('/');
    await expectReady(page, AUTOMATIC_READY_MS);
    testInfo.annotations.push({ type: 'Automatic: time to ready from a fresh profile', description: `${Date.now() - started} ms` });

    await expect(page.getByTestId('backend')).toHaveText('wasm');
    await expect(page.getByTestId('backend-choice')).toContainText('Automatic: no GPU backend on real hardware here');
    const skipped = page.locator('.skipped');
    const adapter = await page.evaluate(async () => {
      const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
      return gpu ? (await gpu.requestAdapter()) !== null : false;
    });
    expect(adapter, 'this Chromium runs with --enable-unsafe-webgpu, so WebGPU has its SwiftShader adapter').toBe(true);
    await expect(skipped).toContainText('webgpu: software renderer (SwiftShader)');
    await expect(skipped).toContainText('webgl: software renderer (SwiftShader)');

    // Same profile, next visit: the choice is remembered for this device.
    await page.reload();
    await expectReady(page, AUTOMATIC_READY_MS);
    await expect(page.getByTestId('backend')).toHaveText('wasm');
    await expect(page.getByTestId('backend-choice')).toContainText('remembered for this device');

    // Forcing a backend still works, software renderer or not; back to Automatic, wasm again.
    await page.getByTestId('backend-select').selectOption('webgl');
    await expectReady(page, READY_TIMEOUT);
    await expect(page.getByTestId('backend')).toHaveText('webgl');
    await expect(skipped).toContainText('webgpu: forced by user (webgl)');
    await expect(page.getByTestId('backend-choice')).toHaveCount(0);
    await page.getByTestId('backend-select').selectOption('auto');
    await expectReady(page, AUTOMATIC_READY_MS);
    await expect(page.getByTestId('backend')).toHaveText('wasm');
    await expect(page.getByTestId('backend-choice')).toContainText('remembered for this device');
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
