// The webcam view without the clip: a denied camera, and the saved budget (Chromium's built-in fake camera,
// so neither the clip nor Market-1501 is needed).
// Its own file: launch options are per worker, and webcam.spec.ts plays the clip instead.
import { expect, test } from '@playwright/test';
import { CHROMIUM_LAUNCH } from './support/browser';

test.use({
  launchOptions: { ...CHROMIUM_LAUNCH, args: [...CHROMIUM_LAUNCH.args, '--use-fake-device-for-media-stream'] },
  permissions: [],
});

test('a denied camera permission gives a clear message and the rest of the app keeps working', async ({ page }) => {
  await page.goto('/?backend=wasm');
  await page.getByRole('tab', { name: /webcam/i }).click();
  await expect(page.getByTestId('webcam-start')).toBeEnabled({ timeout: 120_000 });
  await page.getByTestId('webcam-start').click();
  await expect(page.getByTestId('webcam-error')).toContainText(/permission was denied/i);
  await expect(page.getByTestId('webcam-start')).toBeEnabled();
  await page.getByRole('tab', { name: /search/i }).click();
  await expect(page.getByTestId('query-upload')).toBeEnabled();
});

test('the webcam frame budget is kept on this device across reloads', async ({ page }) => {
  await page.goto('/?backend=wasm');
  await page.getByRole('tab', { name: /webcam/i }).click();
  await page.getByTestId('webcam-budget').fill('120');
  await expect(page.getByTestId('webcam-budget')).toHaveValue('120');
  await page.reload();
  await page.getByRole('tab', { name: /webcam/i }).click();
  await expect(page.getByTestId('webcam-budget')).toHaveValue('120');
});
