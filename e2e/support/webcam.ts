// Reading the webcam view the way a user sees it, through the test ids of the UI contract.

import type { Locator, Page } from '@playwright/test';

export interface PersonInView {
  track: string;
  identity: string;
  stage: string;
  x: number;
}

/** The people in view, left to right: track id, identity and stage of each box. */
export async function peopleInView(page: Page): Promise<PersonInView[]> {
  const boxes = await page.getByTestId('webcam-person').all();
  const list = await Promise.all(
    boxes.map(async (b: Locator) => ({
      track: (await b.getAttribute('data-track')) ?? '',
      identity: (await b.getAttribute('data-identity')) ?? '',
      stage: (await b.getAttribute('data-stage')) ?? '',
      x: (await b.boundingBox())?.x ?? 0,
    })),
  );
  return list.sort((a, b) => a.x - b.x);
}
