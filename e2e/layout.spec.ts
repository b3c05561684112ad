// The layout at phone size (390×844) and on a wide screen (1400 px), with real content in every view: a
// gallery of Market-1501 images, a search done (its summary, matches and per-stage lists), the budget table,
// a stream replay, and the webcam view with the fake camera running. Nothing may scroll sideways and no text may be squeezed
// into a sliver. Full-page screenshots go to test-results/ to be looked at.
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { addToGallery, openApp, search } from './support/app';
import { CHROMIUM_LAUNCH } from './support/browser';
import { marketMissing, marketSet } from './support/market';
import { DEFAULT_CLIP } from './video/build';
import { SHIPPED_STAGES } from './support/model';

const missing = marketMissing();
test.skip(missing !== null, `SKIPPED: ${missing}`);

test.use({
  launchOptions: { ...CHROMIUM_LAUNCH, args: [...CHROMIUM_LAUNCH.args, '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${DEFAULT_CLIP}`] },
  permissions: ['camera'],
});

/** Narrowest box a run of several words may be set in: about ten characters at the app's 15 px font. Below
 * that a sentence reads one or two words per line. */
const MIN_TEXT_WIDTH_PX = 90;

interface LayoutProblem {
  what: string;
  text: string;
}

/** Sideways scrolling, elements sticking out of the viewport, and text squeezed into a sliver (a run of
 * four or more words set at under two words per line, or in a box narrower than MIN_TEXT_WIDTH_PX). */
async function layoutProblems(page: Page): Promise<LayoutProblem[]> {
  return page.evaluate((minWidth) => {
    const problems: { what: string; text: string }[] = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > innerWidth) problems.push({ what: `page scrolls sideways: scrollWidth ${doc.scrollWidth} > innerWidth ${innerWidth}`, text: '' });
    const visible = (el: Element) => {
      const r = el.getBoundingClientRect();
      return r.width > 1 && r.height > 1 && getComputedStyle(el).visibility !== 'hidden';
    };
    for (const el of document.body.querySelectorAll('*')) {
      if (!visible(el)) continue;
      const r = el.getBoundingClientRect();
      if (r.right > innerWidth + 0.5 || r.left < -0.5) {
        problems.push({ what: `<${el.tagName.toLowerCase()} class="${el.getAttribute('class') ?? ''}"> spans x ${Math.round(r.left)}–${Math.round(r.right)} of ${innerWidth}`, text: (el.textContent ?? '').slice(0, 60) });
      }
    }
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const words = (node.textContent ?? '').trim().split(/\s+/).filter((w) => w.length > 0);
      const parent = node.parentElement;
      if (words.length < 4 || !parent || !visible(parent)) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const lines = new Set(Array.from(range.getClientRects(), (r) => Math.round(r.top))).size;
      // The box the text is laid out in: its nearest block-level ancestor.
      let block: Element = parent;
      while (getComputedStyle(block).display.startsWith('inline') && block.parentElement) block = block.parentElement;
      const width = block.getBoundingClientRect().width;
      const text = words.join(' ').slice(0, 80);
      if (lines > 1 && words.length / lines < 2) problems.push({ what: `${words.length} words on ${lines} lines`, text });
      if (width < minWidth) problems.push({ what: `set in a box ${Math.round(width)} px wide`, text });
    }
    return problems;
  }, MIN_TEXT_WIDTH_PX);
}

/** Screenshots of the whole page, one viewport-wide strip at a time (a 6000 px tall phone page shrinks to
 * illegibility in one image), then the layout check. */
async function checkAndShoot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const width = await page.evaluate(() => innerWidth);
  const strip = Math.max(900, width);
  for (let y = 0, part = 1; ; y += strip, part++) {
    // Measured per strip: a live view (the running webcam) can change the page's height between two shots.
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    if (y >= height) break;
    await page.screenshot({ path: testInfo.outputPath(`${name}-${part}.png`), fullPage: true, clip: { x: 0, y, width, height: Math.min(strip, height - y) } });
  }
  expect(await layoutProblems(page), `layout of ${name}`).toEqual([]);
}

for (const viewport of [
  { width: 390, height: 844 },
  { width: 1400, height: 900 },
]) {
  test.describe(`at ${viewport.width}×${viewport.height}`, () => {
    test.use({ viewport });
    test.describe.configure({ timeout: 180_000 });

    test('gallery, search, budget and stream views fit, and the result grid reflows', async ({ page }, testInfo) => {
      const set = marketSet(4, 3);
      await openApp(page);
      await checkAndShoot(page, testInfo, `empty-${viewport.width}`);
      await addToGallery(page, set.gallery, set.gallery.length);
      await search(page, set.queries.get(set.identities[0])!);
      await expect(page.getByTestId('stage-column')).toHaveCount(SHIPPED_STAGES.length);
      await checkAndShoot(page, testInfo, `search-${viewport.width}`);

      // The matches fill the width available: more than one per row, and more rows on the phone.
      const tops = await page.getByTestId('result-item').evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().top)));
      const rows = new Set(tops).size;
      expect(tops.length / rows, 'matches per row').toBeGreaterThan(1);
      if (viewport.width < 500) expect(rows, 'rows of matches on a phone').toBeGreaterThan(1);

      const stream = page.getByTestId('stream-panel');
      await stream.getByTestId('stream-run').click();
      await expect(stream.getByTestId('stream-summary')).toBeVisible({ timeout: 60_000 });
      await checkAndShoot(page, testInfo, `stream-${viewport.width}`);
    });

    test('webcam view with the camera running fits', async ({ page }, testInfo) => {
      await page.goto('/?backend=wasm');
      await page.getByRole('tab', { name: /webcam/i }).click();
      await page.getByTestId('webcam-budget').fill('200');
      await expect(page.getByTestId('webcam-start')).toBeEnabled({ timeout: 120_000 });
      await page.getByTestId('webcam-start').click();
      await expect(page.getByTestId('webcam-person')).toHaveCount(2, { timeout: 60_000 });
      await page.getByTestId('webcam-person').first().click();
      await checkAndShoot(page, testInfo, `webcam-${viewport.width}`);
      const video = await page.getByTestId('webcam-video').boundingBox();
      expect(video?.width ?? 0, 'video width').toBeGreaterThan(viewport.width < 500 ? 300 : 500);
    });
  });
}
