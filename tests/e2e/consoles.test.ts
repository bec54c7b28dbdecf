/**
 * A statement, driven only through the consoles with clicks and typing (no protocol calls):
 * the hall checks its devices and starts sending; the chair opens and starts the session;
 * site A requests the floor with a title → it appears in the chair's queue within 1 s → the
 * chair clicks grant → A shows "on air" with the countdown, B shows A large, the wall highlights
 * A → the chair revokes (and confirms) → all return. Screenshots of every console are saved.
 */
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot } from '../helpers/browser';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(120_000);

const A = 'ha-noi';
const B = 'da-nang';
const TITLE = 'Tham luận: chuyển đổi số trong quản lý đô thị';

let server: TestServer;
let browser: Browser;
let chair: Page;
let siteA: Page;
let siteB: Page;
let wall: Page;
let operator: Page;

const text = (page: Page, selector: string) => page.locator(selector).first().innerText();

beforeAll(async () => {
  server = await startTestServer();
  browser = await launchBrowser();
  ({ page: chair } = await openPage(browser, `${server.url}/chair?q=low#t=${server.token('chair')}`));
  ({ page: siteA } = await openPage(browser, `${server.url}/site?q=low#t=${server.token(A)}`));
  ({ page: siteB } = await openPage(browser, `${server.url}/site?q=low#t=${server.token(B)}`));
  ({ page: wall } = await openPage(browser, `${server.url}/wall#t=${server.token('wall')}`));
  ({ page: operator } = await openPage(browser, `${server.url}/operator#t=${server.token('operator')}`));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('a statement through the consoles', () => {
  it('each hall checks its devices (preview, microphone level) and starts sending', async () => {
    for (const page of [siteA, siteB]) {
      await waitFor('the preview and a moving level meter', async () => {
        const level = Number(await page.getAttribute('#mic-level', 'data-level'));
        const playing = await page.evaluate(
          () => (document.getElementById('preview') as HTMLVideoElement).readyState >= 2,
        );
        return level > 0 && playing ? true : undefined;
      });
      expect(await page.locator('#camera-select option').count()).toBeGreaterThan(0);
      await page.click('#start-button');
      await page.waitForSelector('#self-figure:not([hidden])');
    }
    await screenshot(siteA, 'console-site-ready');
    await waitFor('the operator to see both halls ready', async () =>
      (await operator.locator('tr[data-status="ready"]').count()) === 2 ? true : undefined,
    );
    await screenshot(operator, 'console-operator');
  });

  it('the chair opens and starts the session by clicking', async () => {
    await chair.waitForSelector('#phase-button:not([hidden])');
    await chair.click('#phase-button'); // Mở hội nghị
    await waitFor('open', async () =>
      (await chair.getAttribute('body', 'data-phase')) === 'open' ? true : undefined,
    );
    await chair.click('#phase-button'); // Bắt đầu phiên họp
    await waitFor('in session', async () =>
      (await chair.getAttribute('body', 'data-phase')) === 'in_session' ? true : undefined,
    );
    await expect(text(chair, '#phase')).resolves.toBe('Đang họp');
  });

  it("site A requests the floor with a title; it is in the chair's queue within 1 s", async () => {
    await siteA.fill('#request-title', TITLE);
    const clicked = Date.now();
    await siteA.click('#request-button');
    await chair.waitForSelector(`#queue li[data-site="${A}"]`, { timeout: 1000 });
    expect(Date.now() - clicked).toBeLessThan(1000);
    await expect(text(chair, `#queue li[data-site="${A}"] .queue-title`)).resolves.toBe(TITLE);
    await expect(text(siteA, '#queue-position')).resolves.toContain('vị trí thứ 1');
    await expect(chair.getAttribute(`#sites li[data-site="${A}"]`, 'data-status')).resolves.toBe(
      'requesting',
    );
    await screenshot(chair, 'console-chair-queue');
  });

  it('the chair clicks grant: A is on air with a countdown, B shows A large, the wall highlights A', async () => {
    await chair.click(`#queue li[data-site="${A}"] button.grant`);
    await siteA.waitForSelector('#onair-banner:not([hidden])');
    await expect(text(siteA, '.onair-title')).resolves.toBe('ĐANG PHÁT BIỂU');
    const first = await text(siteA, '#countdown');
    expect(first).toMatch(/^[45]:\d\d$/);
    await waitFor('the countdown to move', async () =>
      (await text(siteA, '#countdown')) !== first ? true : undefined,
    );

    await siteB.waitForSelector(`#programme .tile-large[data-key="site:${A}"]`);
    await expect(text(siteB, '#programme .tile-large .tile-name')).resolves.toBe('Hà Nội');
    await expect(text(siteB, '#speaker-now')).resolves.toBe('Đang phát biểu: Hà Nội');
    await waitFor("B decoding A's picture", () =>
      siteB.evaluate((key) => {
        const v = document.querySelector(`[data-key="${key}"] video`) as HTMLVideoElement | null;
        return (v?.getVideoPlaybackQuality().totalVideoFrames ?? 0) > 0 || undefined;
      }, `site:${A}`),
    );

    await wall.waitForSelector(`#mosaic [data-site="${A}"][data-role="speaker"]`);
    await waitFor("the wall decoding A's picture, framed as the speaker", () =>
      wall.evaluate(
        (code) =>
          document
            .querySelector(`#mosaic [data-site="${code}"][data-role="speaker"]`)
            ?.getAttribute('data-signal') === 'live' || undefined,
        A,
      ),
    );
    await expect(chair.getAttribute(`#sites li[data-site="${A}"]`, 'data-status')).resolves.toBe('onAir');
    await expect(text(chair, '#onair-site')).resolves.toBe('Hà Nội');
    for (const [page, name] of [
      [siteA, 'console-site-on-air'],
      [siteB, 'console-site-programme'],
      [wall, 'console-wall'],
      [chair, 'console-chair-on-air'],
    ] as const) {
      await screenshot(page, name);
    }
  });

  it('the chair revokes (and confirms); every screen returns', async () => {
    await chair.click('#revoke-button');
    await chair.waitForSelector('#confirm[open]');
    await screenshot(chair, 'console-chair-confirm');
    await chair.click('#confirm-ok');
    await siteA.waitForSelector('#onair-banner[hidden]', { state: 'attached' });
    await waitFor('A back to idle', async () =>
      (await siteA.getAttribute('body', 'data-floor')) === 'idle' ? true : undefined,
    );
    await siteB.waitForSelector('#programme .tile-large[data-key="chair"]');
    await wall.waitForSelector('#mosaic [data-role="speaker"]', { state: 'detached' });
    await waitFor('the chair grid back to ready', async () =>
      (await chair.getAttribute(`#sites li[data-site="${A}"]`, 'data-status')) === 'ready' ? true : undefined,
    );
    await expect(chair.locator('#onair-none').isVisible()).resolves.toBe(true);
  });

  it('layout changes by the chair reach every screen, and the language switches to English', async () => {
    await chair.click('#layouts button[data-layout="grid"]');
    await waitFor('B in the grid layout', async () =>
      (await siteB.getAttribute('#programme', 'data-layout')) === 'grid' ? true : undefined,
    );
    await expect(chair.getAttribute('#layouts button[data-layout="grid"]', 'aria-pressed')).resolves.toBe(
      'true',
    );
    await siteB.click('#lang-switch');
    await siteB.waitForSelector('html[lang="en"]');
    await expect(text(siteB, '#request-button')).resolves.toBe('Request the floor');
  });

  it("the wall says 'no signal' on a hall whose picture stops, not a frozen or black tile", async () => {
    const tile = `#mosaic [data-site="${A}"]`;
    await waitFor("the wall decoding A's picture", async () =>
      (await wall.getAttribute(tile, 'data-signal')) === 'live' ? true : undefined,
    );
    // The hall's camera stops (unplugged, the capture card gone): it stays connected and its
    // producer stays, but no frame comes any more.
    await siteA.evaluate(() =>
      ((document.getElementById('preview') as HTMLVideoElement).srcObject as MediaStream)
        .getVideoTracks()
        .forEach((t) => t.stop()),
    );
    await waitFor(
      "the wall to say A's picture stopped",
      async () => ((await wall.getAttribute(tile, 'data-signal')) === 'lost' ? true : undefined),
      { timeoutMs: 15_000 },
    );
    await expect(text(wall, `${tile} .placeholder`)).resolves.toBe('Mất tín hiệu hình');
    await expect(wall.locator(`${tile} .placeholder`).isVisible()).resolves.toBe(true);
  });
});
