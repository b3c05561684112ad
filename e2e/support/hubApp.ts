// Driving the Hub tab and a second device the way a user does, through the hub UI's test ids.

import { expect, type Browser, type BrowserType, type Page, type TestInfo } from '@playwright/test';
import type { HubStatus } from '../../src/hub/protocol';
import { CHROMIUM_LAUNCH } from './browser';
import type { HubProcess } from './hub';

export type HubConnection = 'not-joined' | 'connecting' | 'syncing' | 'connected' | 'offline';

/** Sync on loopback takes well under a second; this leaves room for a busy 2-core machine running two
 * browsers on wasm. */
export const SYNC_TIMEOUT = 30_000;
/** A device retries with a capped backoff: a restarted hub may wait for its next try. */
export const RECONNECT_TIMEOUT = 60_000;

export interface Device {
  browser: Browser;
  page: Page;
}

/** After each hub test: the hub's output attached when the test failed, every device's browser closed, the
 * hub stopped and its folder removed. */
export async function closeHubTest(testInfo: TestInfo, hub: HubProcess | null, devices: Device[]): Promise<void> {
  if (hub && testInfo.status !== testInfo.expectedStatus) await testInfo.attach('hub output', { body: hub.output(), contentType: 'text/plain' });
  for (const d of devices.splice(0)) await d.browser.close().catch(() => undefined);
  await hub?.dispose();
}

/** A device of its own: a separate Chromium (the fake camera, when `clip` is given, is browser-wide) with a
 * fresh profile, so its IndexedDB and stored secret are its own. */
export async function openDevice(chromium: BrowserType, clip?: string): Promise<Device> {
  const args = clip ? [...CHROMIUM_LAUNCH.args, '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${clip}`] : CHROMIUM_LAUNCH.args;
  const browser = await chromium.launch({ ...CHROMIUM_LAUNCH, args });
  const context = await browser.newContext({ permissions: clip ? ['camera'] : [], serviceWorkers: 'block' });
  return { browser, page: await context.newPage() };
}

export async function openTab(page: Page, name: 'Hub' | 'Webcam' | 'Gallery & search'): Promise<void> {
  await page.getByRole('tab', { name, exact: true }).click();
}

export async function expectConnection(page: Page, connection: HubConnection, timeout = SYNC_TIMEOUT): Promise<void> {
  await expect(page.getByTestId('hub-status')).toHaveAttribute('data-status', connection, { timeout });
}

/** One of the Hub tab's counts (the tab must be open). */
export async function hubCount(page: Page, which: 'entries' | 'pending' | 'sightings'): Promise<number> {
  return Number(await page.getByTestId(`hub-${which}`).getAttribute('data-count'));
}

export async function expectHubCount(page: Page, which: 'entries' | 'pending' | 'sightings', count: number, timeout = SYNC_TIMEOUT): Promise<void> {
  await expect(page.getByTestId(`hub-${which}`)).toHaveAttribute('data-count', String(count), { timeout });
}

/** Types a camera name into the Hub tab and commits it with Enter. */
export async function setCameraName(page: Page, name: string): Promise<void> {
  const input = page.getByTestId('hub-camera-name');
  await input.fill(name);
  await input.press('Enter');
  await expect(input).toHaveValue(name);
}

export interface ListedEntry {
  id: string;
  identity: string;
}

/** The gallery's entries as listed (the "Gallery & search" tab must be open), sorted by id. */
export async function listedEntries(page: Page): Promise<ListedEntry[]> {
  const list = await page.getByTestId('gallery-item').evaluateAll((items) =>
    items.map((el) => ({ id: (el as HTMLElement).dataset.id ?? '', identity: (el as HTMLElement).dataset.identity ?? '' })),
  );
  return list.sort((a, b) => a.id.localeCompare(b.id));
}

export async function expectGalleryCount(page: Page, count: number, timeout = SYNC_TIMEOUT): Promise<void> {
  await expect(page.getByTestId('gallery-count')).toHaveText(String(count), { timeout });
}

/** The hub's own view, asked over HTTP with the secret (what the devices cannot show: what it stored). */
export async function hubStatus(hub: HubProcess): Promise<HubStatus> {
  const res = await fetch(`${hub.url}/hub/status`, { headers: { Authorization: `Bearer ${hub.secret}` } });
  if (!res.ok) throw new Error(`GET /hub/status answered ${res.status}`);
  return (await res.json()) as HubStatus;
}
