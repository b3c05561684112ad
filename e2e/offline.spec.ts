// After a first visit the service worker has cached the app, tfjs' wasm files and the model: a reload
// without network still gives a working app, with its gallery.
import { expect, test } from '@playwright/test';
import { addToGallery, expectReady, openApp, results, search } from './support/app';
import { asPlaywrightFile, personJpeg } from './fixtures/makeImages';

test.use({ serviceWorkers: 'allow' });

test('reloads and searches offline once the service worker is installed', async ({ page, context }) => {
  await openApp(page);
  await expect(page.getByTestId('offline-status')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.getByTestId('gallery-identity').fill('fixture');
  await addToGallery(page, [asPlaywrightFile(personJpeg({ name: 'a.jpg' })), asPlaywrightFile(personJpeg({ name: 'b.jpg', shirt: [20, 90, 200] }))], 2);

  await context.setOffline(true);
  await page.reload();
  await expectReady(page);
  await expect(page.getByTestId('backend')).toHaveText('wasm');
  await expect(page.getByTestId('gallery-count')).toHaveText('2');
  await search(page, asPlaywrightFile(personJpeg({ name: 'q.jpg' })));
  expect(await results(page)).toHaveLength(2);
  // Really offline: the network is unreachable from the page.
  expect(await page.evaluate(() => fetch('https://example.com/', { mode: 'no-cors' }).then(() => 'online', () => 'offline'))).toBe('offline');
});
