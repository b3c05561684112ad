// The one test on WebGPU (SwiftShader here: slow, so a tiny gallery and one query). Automatic mode passes
// over SwiftShader (backend-auto.spec.ts), so WebGPU is forced; its embeddings must agree with wasm's.
import { expect, test, type Page } from '@playwright/test';
import { addToGallery, expectReady, expectSearchDone, search, setBudget, stageLists } from './support/app';
import { marketMissing, marketSet } from './support/market';
import { SHIPPED_STAGES } from './support/model';

const missing = marketMissing();

/** Gallery entry id → file name. */
async function fileNames(page: Page): Promise<Map<string, string>> {
  const pairs = await page
    .getByTestId('gallery-item')
    .evaluateAll((els) => els.map((e) => [(e as HTMLElement).dataset.id ?? '', (e as HTMLElement).dataset.fileName ?? ''] as [string, string]));
  return new Map(pairs);
}

test('runs on WebGPU when forced, and its distances agree with wasm', async ({ page }, testInfo) => {
  test.skip(missing !== null, `SKIPPED: ${missing}`);
  // Calibration alone takes about a minute and a half on SwiftShader.
  test.setTimeout(480_000);
  await page.goto('/?backend=webgpu');
  const adapter = await page.evaluate(async () => {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    return gpu ? (await gpu.requestAdapter()) !== null : false;
  });
  test.skip(!adapter, 'SKIPPED: this Chromium has no WebGPU adapter (needs --enable-unsafe-webgpu and a GPU or SwiftShader)');

  await expectReady(page, 400_000);
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await expect(page.locator('.skipped')).toHaveCount(0);

  const set = marketSet(2, 2);
  const query = set.queries.get(set.identities[0])!;
  await addToGallery(page, set.gallery, 4);
  await setBudget(page, 'max');
  await search(page, query);
  const onWebgpu = await stageLists(page);
  const webgpuFiles = await fileNames(page);
  expect(onWebgpu.fused[0].identity).toBe(set.identities[0]);

  // The same images embedded again on wasm, and the same query.
  await page.getByTestId('backend-select').selectOption('wasm');
  await expectReady(page);
  await expect(page.getByTestId('backend')).toHaveText('wasm');
  await page.getByTestId('gallery-clear').click();
  await expect(page.getByTestId('gallery-count')).toHaveText('0');
  await addToGallery(page, set.gallery, 4);
  await search(page, query);
  await expectSearchDone(page);
  const onWasm = await stageLists(page);

  const wasmFiles = await fileNames(page);
  let maxDiff = 0;
  for (const stage of SHIPPED_STAGES) {
    expect(onWasm[stage]).toHaveLength(4);
    const wasmByFile = new Map(onWasm[stage].map((r) => [wasmFiles.get(r.id), r.distance]));
    // Entry ids differ (the gallery was rebuilt): compare by image, in WebGPU's rank order.
    expect(onWebgpu[stage].map((r) => r.identity)).toEqual(onWasm[stage].map((r) => r.identity));
    for (const r of onWebgpu[stage]) {
      expect(r.distance).toBeGreaterThan(0);
      const fileDistance = wasmByFile.get(webgpuFiles.get(r.id));
      expect(fileDistance).toBeDefined();
      expect(Math.abs(r.distance - fileDistance!)).toBeLessThan(5e-3);
      maxDiff = Math.max(maxDiff, Math.abs(r.distance - fileDistance!));
    }
  }
  testInfo.annotations.push({ type: 'max |distance(webgpu) − distance(wasm)|', description: maxDiff.toExponential(2) });
});
