// Stream mode: the gallery replayed as a budgeted query stream, with the policy and average budget chosen
// in the panel; the panel reports each query's exit, the exit histogram and the curves.
import { expect, test } from '@playwright/test';
import { addToGallery, openApp } from './support/app';
import { marketMissing, marketSet } from './support/market';
import { SHIPPED_STREAM_EXITS } from './support/model';

const missing = marketMissing();
test.skip(missing !== null, `SKIPPED: ${missing}`);

test('replays the gallery as a stream: every query answered once, histogram and curves shown', async ({ page }) => {
  const set = marketSet(8, 4);
  await openApp(page);
  await addToGallery(page, set.gallery, set.gallery.length);
  const panel = page.getByTestId('stream-panel');
  await panel.getByTestId('stream-policy').selectOption('distance');
  await panel.getByTestId('stream-run').click();
  await expect(panel.getByTestId('stream-summary')).toContainText('policy distance');

  const exits = await panel.locator('[data-testid="stream-queries"] li').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.exit));
  expect(exits.length).toBeGreaterThan(0);
  expect(exits.every((e) => (SHIPPED_STREAM_EXITS as readonly string[]).includes(e ?? ''))).toBe(true);
  const histogram = await panel.locator('[data-testid="stream-histogram"] tr').evaluateAll((rows) =>
    rows.map((r) => ({ exit: (r as HTMLElement).dataset.exit, n: Number(r.lastElementChild?.textContent?.trim()) })),
  );
  for (const { exit, n } of histogram) expect(n).toBe(exits.filter((e) => e === exit).length);
  // The anytime curve and the three policies of the budgeted one.
  await expect(panel.locator('figure svg')).toHaveCount(2);
  await expect(panel.locator('g[data-series]')).toHaveCount(4);
});
