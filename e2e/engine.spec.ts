// The engine in the UI: which backend runs and why faster ones were not used, forcing another backend,
// the model's download progress.
import { expect, test } from '@playwright/test';
import { SHIPPED_MODEL } from '../src/shippedModel';
import { addToGallery, expectReady, expectSearchDone, openApp, READY_TIMEOUT, search, setBudget, stageLists } from './support/app';
import { marketMissing, marketSet } from './support/market';
import { SHIPPED_STAGES } from './support/model';

const missing = marketMissing();

test('shows the active backend and why faster ones were skipped', async ({ page }) => {
  await openApp(page, 'wasm');
  await expect(page.getByTestId('backend')).toHaveText('wasm');
  const skipped = page.locator('.skipped');
  await expect(skipped).toContainText('webgpu: forced by user (wasm)');
  await expect(skipped).toContainText('webgl: forced by user (wasm)');
  const options = await page.getByTestId('backend-select').locator('option').evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value));
  expect(options).toEqual(expect.arrayContaining(['webgpu', 'webgl', 'wasm', 'cpu']));
});

test('switches to cpu and back to wasm; the gallery and its answers carry over', async ({ page }) => {
  test.skip(missing !== null, `SKIPPED: ${missing}`);
  test.setTimeout(240_000);
  const set = marketSet(4, 2);
  const query = set.queries.get(set.identities[0])!;
  await openApp(page, 'wasm');
  await addToGallery(page, set.gallery, 8);
  await setBudget(page, 'max');
  await search(page, query);
  const onWasm = await stageLists(page);

  await page.getByTestId('backend-select').selectOption('cpu');
  await expect(page.getByTestId('model-status')).not.toContainText('ready');
  await expectReady(page, READY_TIMEOUT);
  await expect(page.getByTestId('backend')).toHaveText('cpu');
  await expect(page.locator('.skipped')).toContainText('wasm: forced by user (cpu)');
  // The engine is new: the query runs again on it, against the same stored gallery embeddings.
  await expectSearchDone(page);
  await expect.poll(async () => (await stageLists(page)).fused?.length).toBe(8);
  const onCpu = await stageLists(page);
  for (const stage of SHIPPED_STAGES) {
    expect(onCpu[stage].map((r) => r.id)).toEqual(onWasm[stage].map((r) => r.id));
    onCpu[stage].forEach((r, i) => expect(Math.abs(r.distance - onWasm[stage][i].distance)).toBeLessThan(2e-3));
  }

  await page.getByTestId('backend-select').selectOption('wasm');
  await expectReady(page, READY_TIMEOUT);
  await expect(page.getByTestId('backend')).toHaveText('wasm');
  await expect(page.getByTestId('gallery-count')).toHaveText('8');
});

test('shows the model download progress', async ({ page }) => {
  // Slow shards, so the progress bar is there long enough to see.
  await page.route(`**/models/${SHIPPED_MODEL}/*.bin`, async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await route.continue();
  });
  await page.goto('/?backend=wasm');
  const progress = page.getByTestId('model-progress');
  await expect(progress).toContainText('Downloading the model');
  await expectReady(page);
  await expect(progress).toHaveCount(0);
});
