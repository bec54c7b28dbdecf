/**
 * Screen share under the presentation token, in real Chromium: the chair gives the token to
 * hall A, which shares its screen (a canvas stream stands in for the browser's screen chooser);
 * hall B decodes it in the "presentation" layout, the chair sees it on its panel and the wall
 * beside its 64 tiles. The chair
 * gives the token to B: the server closes A's share and tells A's page, which stops its capture
 * and says why; B may now share. A site without the token that publishes a presentation
 * through the protocol is refused.
 */
import type { Browser, Page } from 'playwright-core';
import { SCREEN } from '../../client/src/lib/media/quality';
import { launchBrowser, pageCommand, screenshot } from '../helpers/browser';
import {
  framesOfScreen,
  openScreenPage,
  presentWithoutToken,
  screenCapture,
  sharing,
} from '../helpers/screen';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(120_000);

const A = 'ha-noi';
const B = 'da-nang';
let server: TestServer;
let browser: Browser;
let chair: Page;
let siteA: Page;
let siteB: Page;
let wall: Page;

beforeAll(async () => {
  server = await startTestServer();
  browser = await launchBrowser();
  chair = await openScreenPage(browser, `${server.url}/chair?q=low#t=${server.token('chair')}`);
  siteA = await openScreenPage(browser, `${server.url}/site?q=low&auto=1#t=${server.token(A)}`);
  siteB = await openScreenPage(browser, `${server.url}/site?q=low&auto=1#t=${server.token(B)}`);
  wall = await openScreenPage(browser, `${server.url}/wall#t=${server.token('wall')}`);
  for (const page of [chair, siteA, siteB, wall])
    await waitFor('the console to connect', async () =>
      (await page.getAttribute('body', 'data-state')) === 'connected' ? true : undefined,
    );
  await pageCommand(chair, 'conference:open');
  await pageCommand(chair, 'conference:start');
  await pageCommand(chair, 'layout:set', { layout: 'presentation' });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('screen share under the presentation token', () => {
  it('without the token a hall has no share button, and the protocol refuses its presentation', async () => {
    await expect(siteA.locator('#share-panel').isHidden()).resolves.toBe(true);
    await expect(presentWithoutToken(server, 'thua-thien-hue')).resolves.toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
  });

  it('hall A, given the token, shares its screen; hall B and the chair decode it', async () => {
    await pageCommand(chair, 'presentation:give', { to: { kind: 'site', code: A } });
    await siteA.waitForSelector('#share-panel:not([hidden])');
    await siteA.click('#share-button');
    await waitFor('A sharing', async () => ((await sharing(siteA)) ? true : undefined));
    await expect(siteA.locator('#share-button').innerText()).resolves.toBe('Dừng chia sẻ màn hình');
    // Tuned for legibility: content hint "detail", resolution kept over frame rate, and two
    // layers so a weak hall still gets a readable half-size picture.
    expect(SCREEN.encodings.map((e) => e.scaleResolutionDownBy)).toEqual([2, 1]);
    await expect(screenCapture(siteA)).resolves.toEqual({
      contentHint: 'detail',
      readyState: 'live',
      sending: true,
      encodings: SCREEN.encodings.map((e) => ({ rid: e.rid, scale: e.scaleResolutionDownBy })),
      degradationPreference: 'maintain-resolution',
    });
    await siteB.waitForSelector('#programme [data-key="screen"]');
    const first = await waitFor("B decoding A's screen", async () => {
      const n = await framesOfScreen(siteB, '#programme [data-key="screen"] video');
      return n > 0 ? n : undefined;
    });
    // Some seconds of frames: the encoder starts soft and sharpens as its bitrate climbs.
    await waitFor('the frames to keep coming', async () =>
      (await framesOfScreen(siteB, '#programme [data-key="screen"] video')) > first + 30 ? true : undefined,
    );
    const size = await siteB.evaluate(() => {
      const v = document.querySelector('#programme [data-key="screen"] video') as HTMLVideoElement;
      return { width: v.videoWidth, height: v.videoHeight };
    });
    expect(size.width).toBeGreaterThanOrEqual(640);
    expect(size.width / size.height).toBeCloseTo(16 / 9, 1);
    await waitFor("the chair's panel showing the share", async () =>
      (await framesOfScreen(chair, '#presentation-video')) > 0 ? true : undefined,
    );
    await screenshot(siteB, 'screen-share-hall');
    // The wall: the share as a 4×4 block, the 64 tiles around it.
    await waitFor('the wall showing the share', async () =>
      (await framesOfScreen(wall, '#mosaic [data-role="presentation"] video')) > 0 ? true : undefined,
    );
    await expect(wall.locator('#mosaic figure.wall-tile').count()).resolves.toBe(65);
    await screenshot(wall, 'screen-share-wall');
  });

  it('the token moves to B: A is told, its capture stops, B may share', async () => {
    await pageCommand(chair, 'presentation:give', { to: { kind: 'site', code: B } });
    await waitFor('A to stop sharing', async () => ((await sharing(siteA)) ? undefined : true));
    // Its capture itself is stopped (the browser's "sharing this screen" indicator goes).
    await expect(screenCapture(siteA)).resolves.toMatchObject({ readyState: 'ended', sending: false });
    await expect(siteA.locator('#notice').innerText()).resolves.toBe(
      'Quyền trình chiếu đã được chuyển đi: đã dừng chia sẻ màn hình.',
    );
    await siteA.waitForSelector('#share-panel', { state: 'hidden' });
    await siteB.waitForSelector('#share-panel:not([hidden])');
    await siteB.waitForSelector('#programme [data-key="screen"]', { state: 'detached' });
    await siteB.click('#share-button');
    await waitFor('B sharing', async () => ((await sharing(siteB)) ? true : undefined));
    await siteA.waitForSelector('#programme [data-key="screen"]');
    await waitFor("A decoding B's screen", async () =>
      (await framesOfScreen(siteA, '#programme [data-key="screen"] video')) > 0 ? true : undefined,
    );
    // B stops by itself: the halls return to the speaker layout's picture.
    await siteB.click('#share-button');
    await waitFor('B to stop', async () => ((await sharing(siteB)) ? undefined : true));
    await siteA.waitForSelector('#programme [data-key="screen"]', { state: 'detached' });
    await wall.waitForSelector('#mosaic [data-role="presentation"]', { state: 'detached' });
  });

  it('the chair takes the token and shares from its own panel; the halls decode it', async () => {
    await pageCommand(chair, 'presentation:give', { to: { kind: 'person', principal: 'chair' } });
    await chair.waitForSelector('#share-panel:not([hidden])');
    await siteB.waitForSelector('#share-panel', { state: 'hidden' });
    await chair.click('#share-button');
    await waitFor('the chair sharing', async () => ((await sharing(chair)) ? true : undefined));
    await expect(screenCapture(chair)).resolves.toMatchObject({ contentHint: 'detail', sending: true });
    for (const hall of [siteA, siteB]) {
      await hall.waitForSelector('#programme [data-key="screen"]');
      await waitFor("a hall decoding the chair's screen", async () =>
        (await framesOfScreen(hall, '#programme [data-key="screen"] video')) > 0 ? true : undefined,
      );
    }
    await chair.click('#share-button');
    await waitFor('the chair to stop', async () => ((await sharing(chair)) ? undefined : true));
    await expect(screenCapture(chair)).resolves.toMatchObject({ readyState: 'ended' });
  });
});
