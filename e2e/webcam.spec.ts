// Webcam re-ID in Chromium with a fake camera playing a clip built at test time from Market-1501 (two
// people walking slowly on a textured background, see e2e/video/; e2e/global-setup.ts writes it). Runs on
// the wasm backend.
import { expect, test, type Page } from '@playwright/test';
import { CHROMIUM_LAUNCH } from './support/browser';
import { peopleInView } from './support/webcam';
import { DEFAULT_CLIP } from './video/build';
import { marketMissing } from './video/market';

const missing = marketMissing();

test.use({
  // The fake camera plays the clip; camera access is granted through the context's permissions (a test
  // below revokes it), not a browser-wide flag.
  launchOptions: { ...CHROMIUM_LAUNCH, args: [...CHROMIUM_LAUNCH.args, '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${DEFAULT_CLIP}`] },
  permissions: ['camera'],
});

test.describe('webcam re-ID', () => {
  test.skip(missing !== null, `SKIPPED: ${missing}`);
  // Model load, detector sizing, and a few seconds of video on 2 cores.
  test.describe.configure({ timeout: 180_000 });

  async function openWebcam(page: Page): Promise<void> {
    await page.goto('/?backend=wasm');
    await page.getByRole('tab', { name: /webcam/i }).click();
  }

  test('finds both people, enrolls one from the camera, then recognises that one and not the other', async ({ page }) => {
    await openWebcam(page);
    // Room for the detector and every stage of both people on a busy machine: this test is about
    // correctness; the benchmark measures the budget.
    await page.getByTestId('webcam-budget').fill('200');
    await expect(page.getByTestId('webcam-start')).toBeEnabled({ timeout: 120_000 });
    await page.getByTestId('webcam-start').click();

    await expect(page.getByTestId('webcam-person')).toHaveCount(2, { timeout: 60_000 });
    // Both are followed across frames until the engine has gone all the way (anytime across frames).
    await expect.poll(async () => (await peopleInView(page)).map((p) => p.stage), { timeout: 30_000 }).toEqual(['fused', 'fused']);
    const before = await peopleInView(page);
    expect(before.map((p) => p.identity)).toEqual(['unknown', 'unknown']);
    await expect(page.getByTestId('webcam-fps')).not.toHaveText(/^(–|0\.0)$/);
    expect(Number(await page.getByTestId('webcam-overruns').textContent())).toBeGreaterThanOrEqual(0);

    const [left, right] = before;
    await page.locator(`[data-testid=webcam-person][data-track="${left.track}"]`).click();
    await page.getByTestId('webcam-enroll-name').fill('Alice');
    await page.getByTestId('webcam-enroll').click();
    await expect(page.getByTestId('webcam-enroll-status')).toHaveAttribute('data-phase', 'done', { timeout: 60_000 });

    // From then on, in later frames: the enrolled person is Alice, the other is not.
    await expect.poll(async () => (await peopleInView(page)).map((p) => p.identity), { timeout: 30_000 }).toEqual(['Alice', 'unknown']);
    for (let i = 0; i < 5; i++) {
      await page.waitForTimeout(400);
      const now = await peopleInView(page);
      expect(now.map((p) => p.identity)).toEqual(['Alice', 'unknown']);
      expect(now.map((p) => p.track)).toEqual([left.track, right.track]);
    }

    await page.getByTestId('webcam-stop').click();
    await expect(page.getByTestId('webcam-person')).toHaveCount(0);
    await expect(page.getByTestId('webcam-start')).toBeEnabled();
  });

  test('a camera that disappears mid-stream stops the view with a clear message; it can start again', async ({ page }) => {
    await openWebcam(page);
    await expect(page.getByTestId('webcam-start')).toBeEnabled({ timeout: 120_000 });
    await page.getByTestId('webcam-start').click();
    await expect(page.getByTestId('webcam-person').first()).toBeVisible({ timeout: 60_000 });
    // What the browser does when a camera is unplugged: the video track ends.
    await page.getByTestId('webcam-video').evaluate((video: HTMLVideoElement) => {
      (video.srcObject as MediaStream).getVideoTracks()[0].dispatchEvent(new Event('ended'));
    });
    await expect(page.getByTestId('webcam-error')).toContainText(/camera stopped sending video/i);
    await expect(page.getByTestId('webcam-person')).toHaveCount(0);
    await page.getByTestId('webcam-start').click();
    await expect(page.getByTestId('webcam-person').first()).toBeVisible({ timeout: 60_000 });
    await expect(page.getByTestId('webcam-error')).toHaveCount(0);
  });
});

test('without any camera, the view says so and stays usable', async ({ playwright, baseURL }) => {
  // A browser of its own: the fake device factory with no device at all (this file's browser has one).
  const browser = await playwright.chromium.launch({ ...CHROMIUM_LAUNCH, args: [...CHROMIUM_LAUNCH.args, '--use-fake-device-for-media-stream=device-count=0'] });
  try {
    const context = await browser.newContext({ baseURL, permissions: ['camera'], serviceWorkers: 'block' });
    const page = await context.newPage();
    await page.goto('/?backend=wasm');
    await page.getByRole('tab', { name: /webcam/i }).click();
    await expect(page.getByTestId('webcam-start')).toBeEnabled({ timeout: 120_000 });
    await page.getByTestId('webcam-start').click();
    await expect(page.getByTestId('webcam-error')).toContainText(/no camera was found/i);
    await expect(page.getByTestId('webcam-start')).toBeEnabled();
    await expect(page.getByTestId('webcam-person')).toHaveCount(0);
  } finally {
    await browser.close();
  }
});
