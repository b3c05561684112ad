// Managing the gallery: deleting one entry or all (with undo), export to one file and import it back.
import fs from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { addToGallery, openApp, search, setBudget, stageLists } from './support/app';
import { marketMissing, marketSet } from './support/market';
import { SHIPPED_STAGES } from './support/model';

const missing = marketMissing();
test.skip(missing !== null, `SKIPPED: ${missing}`);

/** 3 people × 2 images. */
const set = missing ? null : marketSet(3, 2);

async function identitiesShown(page: Page): Promise<string[]> {
  return page.getByTestId('gallery-item').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.identity ?? '').sort());
}

/** The 6 images in a fresh gallery and one search at full depth: the query and every stage's ranking. */
async function searchedGalleryOfSix(page: Page) {
  await openApp(page);
  await addToGallery(page, set!.gallery, 6);
  await setBudget(page, 'max');
  const query = set!.queries.get(set!.identities[0])!;
  await search(page, query);
  return { query, before: await stageLists(page) };
}

test('deletes one entry, and it stays deleted after a reload', async ({ page }) => {
  await openApp(page);
  await addToGallery(page, set!.gallery, 6);
  const victim = page.getByTestId('gallery-item').first();
  const id = await victim.getAttribute('data-id');
  await victim.getByTestId('gallery-delete').click();
  await expect(page.getByTestId('gallery-count')).toHaveText('5');
  await expect(page.locator(`[data-testid="gallery-item"][data-id="${id}"]`)).toHaveCount(0);

  await page.reload();
  await expect(page.getByTestId('gallery-count')).toHaveText('5');
  await expect(page.locator(`[data-testid="gallery-item"][data-id="${id}"]`)).toHaveCount(0);
});

test('deletes everything, can undo it, and a clear survives a reload', async ({ page }) => {
  await openApp(page);
  await addToGallery(page, set!.gallery, 6);
  const before = await identitiesShown(page);

  await page.getByTestId('gallery-clear').click();
  await expect(page.getByTestId('gallery-count')).toHaveText('0');
  await page.getByTestId('gallery-undo-clear').click();
  await expect(page.getByTestId('gallery-count')).toHaveText('6');
  expect(await identitiesShown(page)).toEqual(before);

  await page.getByTestId('gallery-clear').click();
  await expect(page.getByTestId('gallery-count')).toHaveText('0');
  await page.reload();
  await expect(page.getByTestId('model-status')).toContainText('ready', { timeout: 60_000 });
  await expect(page.getByTestId('gallery-count')).toHaveText('0');
});

test('exports the gallery to one file and imports it back, embeddings intact', async ({ page }, testInfo) => {
  const { query, before } = await searchedGalleryOfSix(page);
  const identities = await identitiesShown(page);

  const downloading = page.waitForEvent('download');
  await page.getByTestId('gallery-export').click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/\.reidgallery$/);
  const file = testInfo.outputPath(download.suggestedFilename());
  await download.saveAs(file);

  await page.getByTestId('gallery-clear').click();
  await expect(page.getByTestId('gallery-count')).toHaveText('0');
  await page.getByTestId('gallery-import').setInputFiles(file);
  await expect(page.getByTestId('gallery-count')).toHaveText('6');
  await expect(page.getByTestId('error')).toHaveCount(0);
  expect(await identitiesShown(page)).toEqual(identities);

  // Same entries (ids), same embeddings: the same query ranks them identically at every stage.
  await search(page, query);
  const after = await stageLists(page);
  for (const stage of SHIPPED_STAGES) {
    expect(after[stage].map((r) => r.id)).toEqual(before[stage].map((r) => r.id));
    after[stage].forEach((r, i) => expect(r.distance).toBeCloseTo(before[stage][i].distance, 5));
  }

  // Importing again merges by id: nothing is duplicated. Survives a reload.
  await page.getByTestId('gallery-import').setInputFiles(file);
  await expect(page.getByTestId('gallery-progress')).toHaveCount(0);
  await expect(page.getByTestId('gallery-count')).toHaveText('6');
  await page.reload();
  await expect(page.getByTestId('gallery-count')).toHaveText('6');
});

test('a gallery file damaged after export is refused as a whole, also with "replace" checked; the gallery stays as it was', async ({ page }, testInfo) => {
  const { query, before } = await searchedGalleryOfSix(page);
  const ids = await page.getByTestId('gallery-item').evaluateAll((els) => els.map((e) => `${(e as HTMLElement).dataset.id}:${(e as HTMLElement).dataset.identity}`));

  const downloading = page.waitForEvent('download');
  await page.getByTestId('gallery-export').click();
  const bytes = new Uint8Array(fs.readFileSync(await (await downloading).path()));

  // The real model's embeddings as written: their distance from unit norm, against the import's 1e-5.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(48, 48 + headerLength))) as { dim: number; stages: string[]; entries: { thumbnailBytes: number }[] };
  // One embedding per stage of the shipped model (its exits, then fused), as the header lists them.
  expect(header.stages).toEqual([...SHIPPED_STAGES]);
  const perEntry = header.stages.length;
  const floatsAt = 48 + headerLength;
  let worst = 0;
  for (let v = 0; v < header.entries.length * perEntry; v++) {
    let sum = 0;
    for (let j = 0; j < header.dim; j++) sum += view.getFloat32(floatsAt + (v * header.dim + j) * 4, true) ** 2;
    worst = Math.max(worst, Math.abs(Math.sqrt(sum) - 1));
  }
  console.log(`largest |norm − 1| of the ${header.entries.length * perEntry} exported embeddings: ${worst.toExponential(2)}`);

  // Damage the payload, header intact: one low-order embedding byte and one byte inside the thumbnail of
  // every other entry (3 of 6), changes no per-value check could see.
  let thumbAt = floatsAt + header.entries.length * perEntry * header.dim * 4;
  header.entries.forEach((e, i) => {
    if (i % 2 === 0) {
      bytes[floatsAt + i * perEntry * header.dim * 4 + 40] ^= 0x01;
      bytes[thumbAt + Math.floor(e.thumbnailBytes / 2)] ^= 0x55;
    }
    thumbAt += e.thumbnailBytes;
  });
  const damaged = testInfo.outputPath('damaged.reidgallery');
  fs.writeFileSync(damaged, bytes);

  await page.getByTestId('gallery-import-replace').check();
  await page.getByTestId('gallery-import').setInputFiles(damaged);
  await expect(page.getByTestId('error')).toContainText(
    'damaged.reidgallery was not imported, the gallery is unchanged: "damaged.reidgallery" is damaged: its contents do not match the SHA-256 checksum',
  );
  await expect(page.getByTestId('gallery-progress')).toHaveCount(0);
  const idsNow = () => page.getByTestId('gallery-item').evaluateAll((els) => els.map((e) => `${(e as HTMLElement).dataset.id}:${(e as HTMLElement).dataset.identity}`));
  expect(await idsNow()).toEqual(ids);

  // Kept in IndexedDB too, embeddings and all: after a reload the same query ranks the same entries identically.
  await page.reload();
  await expect(page.getByTestId('model-status')).toContainText('ready', { timeout: 60_000 });
  await expect(page.getByTestId('gallery-count')).toHaveText('6');
  expect(await idsNow()).toEqual(ids);
  await search(page, query);
  const after = await stageLists(page);
  for (const stage of SHIPPED_STAGES) {
    expect(after[stage].map((r) => r.id)).toEqual(before[stage].map((r) => r.id));
    after[stage].forEach((r, i) => expect(r.distance).toBeCloseTo(before[stage][i].distance, 5));
  }
});
