// Bad input gets a clear message and loses nothing: broken and odd image files, a model that fails to
// download, IndexedDB refusing to store (quota) or refusing access altogether.
import { expect, test, type Page } from '@playwright/test';
import { SHIPPED_MODEL } from '../src/shippedModel';
import {
  asPlaywrightFile,
  corruptJpeg,
  emptyFile,
  grayscaleJpeg,
  heicLike,
  hugeJpeg,
  personJpeg,
  pngWithAlpha,
  textAsJpeg,
  type FixtureFile,
} from './fixtures/makeImages';
import { addToGallery, expectReady, galleryCount, openApp, results, search } from './support/app';

const file = (f: FixtureFile) => asPlaywrightFile(f);
const errors = (page: Page) => page.getByTestId('error');

test('broken files are refused one by one with the reason; odd but valid images are added', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('gallery-identity').fill('fixture');
  const good = personJpeg({ name: 'person.jpg' });
  const batch = [good, textAsJpeg(), emptyFile(), corruptJpeg(), heicLike(), hugeJpeg(8000), pngWithAlpha(), grayscaleJpeg()];
  await addToGallery(page, batch.map(file), 4);

  const added = await page.getByTestId('gallery-item').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.fileName).sort());
  expect(added).toEqual(['gray.jpg', 'huge-8000.jpg', 'person.jpg', pngWithAlpha().name].sort());
  await expect(errors(page)).toContainText('"notes.jpg" is not an image');
  await expect(errors(page)).toContainText('"empty.jpg" is empty');
  await expect(errors(page)).toContainText('"corrupt.jpg" could not be decoded');
  await expect(errors(page)).toContainText('IMG_0001.HEIC');
  await expect(errors(page).getByRole('listitem')).toHaveCount(4);
  // Refused files are not in the gallery, and nothing else was lost.
  expect(await galleryCount(page)).toBe(4);
});

test('a bad query file is refused and the previous results stay', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('gallery-identity').fill('fixture');
  await addToGallery(page, [file(personJpeg({ name: 'a.jpg' })), file(personJpeg({ name: 'b.jpg', shirt: [30, 60, 200] }))], 2);
  await search(page, file(hugeJpeg(8000)));
  const before = await results(page);
  expect(before).toHaveLength(2);

  for (const bad of [textAsJpeg(), emptyFile('empty-query.jpg'), corruptJpeg()]) {
    await page.getByTestId('query-upload').setInputFiles(file(bad));
    await expect(errors(page)).toContainText(`"${bad.name}"`);
  }
  await expect(page.getByTestId('query-result')).toContainText('huge-8000.jpg');
  expect(await results(page)).toEqual(before);
});

test('a failed model download says so, keeps the gallery, and a retry recovers', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('gallery-identity').fill('fixture');
  await addToGallery(page, [file(personJpeg({ name: 'kept.jpg' }))], 1);

  await page.route(`**/models/${SHIPPED_MODEL}/model.json`, (route) => route.fulfill({ status: 404, body: 'not here' }));
  await page.reload();
  await expect(page.getByTestId('model-status')).toHaveText(/failed/);
  await expect(errors(page)).toContainText('The model could not be loaded');
  await expect(errors(page)).toContainText('404');
  // The saved gallery is still there; adding needs the model, and says so.
  await expect(page.getByTestId('gallery-count')).toHaveText('1');
  await page.getByTestId('gallery-upload').setInputFiles(file(personJpeg({ name: 'later.jpg' })));
  await expect(errors(page)).toContainText('the model is not loaded');

  // The weights fail mid-way this time (connection dropped).
  await page.unrouteAll();
  await page.route(`**/models/${SHIPPED_MODEL}/*.bin`, (route) => route.abort('connectionreset'));
  await page.getByRole('button', { name: 'Retry' }).click();
  await expect(page.getByTestId('model-status')).toHaveText(/failed/);
  await expect(errors(page)).toContainText('weight shard');

  await page.unrouteAll();
  await page.getByRole('button', { name: 'Retry' }).click();
  await expectReady(page);
  await expect(page.getByTestId('gallery-count')).toHaveText('1');
  await search(page, file(personJpeg({ name: 'q.jpg' })));
  expect(await results(page)).toHaveLength(1);
});

test('storage full: the images stay in the gallery for this tab, unsaved, and can be exported', async ({ page }) => {
  // IndexedDB refuses every write to the gallery's object store, as it does when the origin's quota is spent.
  await page.addInitScript(() => {
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === 'entries') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.apply(this, args);
    };
  });
  await openApp(page);
  await page.getByTestId('gallery-identity').fill('fixture');
  await addToGallery(page, [file(personJpeg({ name: 'a.jpg' })), file(personJpeg({ name: 'b.jpg' })), file(grayscaleJpeg())], 3);
  await expect(errors(page)).toContainText('Storage is full');
  await expect(errors(page)).toContainText('export the gallery');
  await expect(page.getByTestId('gallery-unsaved')).toContainText('3 of 3 entries are not saved');
  await search(page, file(personJpeg({ name: 'q.jpg' })));
  expect(await results(page)).toHaveLength(3);

  const downloading = page.waitForEvent('download');
  await page.getByTestId('gallery-export').click();
  expect((await downloading).suggestedFilename()).toMatch(/\.reidgallery$/);
});

test('storage unavailable: the app still works, in memory, and says the gallery will not be kept', async ({ page }) => {
  // What browsers do when storage is blocked for the site (privacy settings, some private modes).
  await page.addInitScript(() => {
    IDBFactory.prototype.open = function () {
      throw new DOMException('Access to the IndexedDB API is denied in this context.', 'SecurityError');
    };
  });
  await openApp(page);
  await expect(errors(page)).toContainText('Browser storage (IndexedDB) is unavailable');
  await page.getByTestId('gallery-identity').fill('fixture');
  await addToGallery(page, [file(personJpeg({ name: 'a.jpg' })), file(pngWithAlpha())], 2);
  await expect(page.getByText('this gallery lasts only as long as the tab')).toBeVisible();
  await search(page, file(personJpeg({ name: 'q.jpg' })));
  expect(await results(page)).toHaveLength(2);
});
