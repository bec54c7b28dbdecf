/** Debian's Chromium, headless, with a synthetic camera and a beeping microphone. */
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts');

export async function launchBrowser(): Promise<Browser> {
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
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** A page in its own context (own cookies/storage), with console errors collected. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  return { page, errors };
}

export interface PageInbound {
  consumerId: string;
  siteCode: string;
  role: string;
  kind: 'audio' | 'video';
  bytesReceived: number;
  packetsReceived: number;
  framesDecoded: number;
  audioLevel: number;
  totalAudioEnergy: number;
}

export interface PageOutbound {
  source: string;
  paused: boolean;
  bytesSent: number;
  packetsSent: number;
}

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
