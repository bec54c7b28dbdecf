/** Debian's Chromium, headless, with a synthetic camera and a beeping microphone. */
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import type { InboundStat, OutboundLayer, OutboundStat } from '../../client/src/lib/ConferenceClient';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts');

/**
 * One browser has one fake camera (a moving test pattern, 20 fps unless `cameraFps` says, up to
 * 3840×2160), shared by all its pages: the first page to open it sets its capture size and the
 * others get at most that (a first page asking 640×360 leaves a later one asking 1280×720 with
 * 640×480). A page that must capture 1280×720 opens first, or gets a browser of its own.
 */
export async function launchBrowser(
  opts: {
    cameraFps?: number;
    /** A video file (.y4m/.mjpeg) as every page's camera. */ videoFile?: string;
  } = {},
): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: run "node scripts/setup.mjs test" (npm test does it)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      opts.cameraFps
        ? `--use-fake-device-for-media-stream=fps=${opts.cameraFps}`
        : '--use-fake-device-for-media-stream',
      ...(opts.videoFile ? [`--use-file-for-fake-video-capture=${opts.videoFile}`] : []),
      '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** A page in its own context (own cookies/storage), with console errors collected. */
export async function openPage(
  browser: Browser,
  url: string,
  viewport: { width: number; height: number } = { width: 1280, height: 720 },
): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  return { page, errors };
}

/** What a page's controller reports from getStats(): the client's own types, not copies. */
export type PageInbound = InboundStat;
export type PageLayer = OutboundLayer;
export type PageOutbound = OutboundStat;

/** What the page's controller sends, from RTCPeerConnection.getStats(). */
export function outboundStats(page: Page): Promise<PageOutbound[]> {
  return page.evaluate(() =>
    (
      window as unknown as { hoinghi: { client: { outboundStats(): Promise<PageOutbound[]> } } }
    ).hoinghi.client.outboundStats(),
  );
}

/** Sends a conference command through the page's own controller (protocol level, no clicks). */
export async function pageCommand(page: Page, event: string, payload: unknown = {}): Promise<void> {
  await page.evaluate(
    ([e, p]) =>
      (
        window as unknown as { hoinghi: { client: { command(e: string, p: unknown): Promise<void> } } }
      ).hoinghi.client.command(e as string, p),
    [event, payload] as const,
  );
}

/** What the page's controller receives, from RTCPeerConnection.getStats(). */
export function inboundStats(page: Page): Promise<PageInbound[]> {
  return page.evaluate(() =>
    (
      window as unknown as { hoinghi: { client: { inboundStats(): Promise<PageInbound[]> } } }
    ).hoinghi.client.inboundStats(),
  );
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/**
 * A screenshot the README shows: always in test-artifacts; copied over docs/images only when
 * DOC_IMAGES=1 (so that running the tests leaves the work tree as it was).
 */
export async function docScreenshot(page: Page, name: string): Promise<void> {
  await screenshot(page, name);
  if (process.env.DOC_IMAGES !== '1') return;
  const docs = path.resolve(__dirname, '..', '..', 'docs', 'images');
  fs.mkdirSync(docs, { recursive: true });
  fs.copyFileSync(path.join(ARTIFACTS, `${name}.png`), path.join(docs, `${name}.png`));
}
