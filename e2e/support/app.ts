// Driving the app the way a user does, through the test ids of the UI contract.

import { expect, type Page } from '@playwright/test';
import type { BackendName } from '../../src/engine/types';

/** Model download, warm-up and first-run calibration on wasm take a few seconds; far longer elsewhere. */
export const READY_TIMEOUT = 120_000;

/** Opens the app on `backend` (wasm unless the backend is under test) and waits until the model is ready. */
export async function openApp(page: Page, backend: BackendName = 'wasm'): Promise<void> {
  await page.goto(`/?backend=${backend}`);
  await expectReady(page);
}

export async function expectReady(page: Page, timeout = READY_TIMEOUT): Promise<void> {
  await expect(page.getByTestId('model-status')).toContainText('ready', { timeout });
}

export async function galleryCount(page: Page): Promise<number> {
  return Number(await page.getByTestId('gallery-count').textContent());
}

/** Uploads through the gallery's file input and waits until every file has been handled. */
export async function addToGallery(page: Page, files: Parameters<Page['setInputFiles']>[1], expectedAdded: number): Promise<void> {
  const before = await galleryCount(page);
  await page.getByTestId('gallery-upload').setInputFiles(files);
  await expect(page.getByTestId('gallery-count')).toHaveText(String(before + expectedAdded), { timeout: 60_000 });
  await expect(page.getByTestId('gallery-progress')).toHaveCount(0);
}

/** Searches with a query image and waits for its results. */
export async function search(page: Page, file: Parameters<Page['setInputFiles']>[1]): Promise<void> {
  await page.getByTestId('query-upload').setInputFiles(file);
  await expectSearchDone(page);
}

export async function expectSearchDone(page: Page): Promise<void> {
  await expect(page.getByTestId('query-result')).toHaveAttribute('data-status', 'done');
}

export interface Result {
  id: string;
  identity: string;
  camera: string;
  distance: number;
}

/** The ranked matches shown for the query, in rank order. */
export async function results(page: Page): Promise<Result[]> {
  return page.getByTestId('result-item').evaluateAll((items) =>
    items.map((el) => {
      const d = (el as HTMLElement).dataset;
      return { id: d.id ?? '', identity: d.identity ?? '', camera: d.camera ?? '', distance: Number(d.distance) };
    }),
  );
}

/** Per stage column of the side-by-side view: the ranked [entry id, identity, distance] list. */
export async function stageLists(page: Page): Promise<Record<string, { id: string; identity: string; distance: number }[]>> {
  return page.getByTestId('stage-column').evaluateAll((cols) =>
    Object.fromEntries(
      cols.map((col) => [
        (col as HTMLElement).dataset.stage ?? '',
        Array.from(col.querySelectorAll<HTMLElement>('[data-testid="stage-result-item"]'), (el) => ({
          id: el.dataset.id ?? '',
          identity: el.dataset.identity ?? '',
          distance: Number(el.dataset.distance),
        })),
      ]),
    ),
  );
}

/** Sets the budget slider (a range input) to `ms`; ms = 'max' puts it at its top, which is no limit.
 * The top moves while real runs refine the measured costs, so 'max' is the End key (the browser moves to
 * whatever the top is at that instant) rather than a value read a moment earlier. */
export async function setBudget(page: Page, ms: number | 'max'): Promise<void> {
  const slider = page.getByTestId('budget-slider');
  if (ms === 'max') await slider.press('End');
  else await slider.fill(String(ms));
  await expect(page.getByTestId('budget-value')).toHaveText(ms === 'max' ? 'no limit' : `${ms} ms`);
}
