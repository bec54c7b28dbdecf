/**
 * The prepared programme and its presentations, end to end by clicks: the operator uploads a
 * deck (printed by Chromium, in Vietnamese) and prepares a three-item agenda with it; the chair
 * opens and starts the session and grants the floor by the agenda; the speaker's deck shows at
 * the other hall and the speaker turns its page; the speaker closes it and shares its screen;
 * the chair gives the token to the other hall: the old holder's capture stops (its page says
 * why) and the new holder shares, decoded by the first. A site without the token that publishes
 * a presentation through the protocol is refused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot } from '../helpers/browser';
import { framesOfScreen, openScreenPage, presentWithoutToken, sharing } from '../helpers/screen';
import { printDeck } from '../helpers/slides';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(180_000);

let server: TestServer;
let browser: Browser;
let operator: Page;
let chair: Page;
let hanoi: Page;
let danang: Page;
let dir: string;

const item = (n: number) => `#agenda-items li:nth-child(${n})`;
const shownPage = (page: Page) =>
  page.evaluate(() => document.querySelector<HTMLImageElement>('#programme img.slide')?.dataset.page ?? null);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-flow-'));
  server = await startTestServer();
  browser = await launchBrowser();
  operator = (
    await openPage(browser, `${server.url}/operator#t=${server.token('operator')}`, {
      width: 1600,
      height: 900,
    })
  ).page;
  chair = (await openPage(browser, `${server.url}/chair?q=low#t=${server.token('chair')}`)).page;
  hanoi = await openScreenPage(browser, `${server.url}/site?auto=1&q=low#t=${server.token('ha-noi')}`);
  danang = await openScreenPage(browser, `${server.url}/site?auto=1&q=low#t=${server.token('da-nang')}`);
  for (const page of [operator, chair, hanoi, danang])
    await waitFor('the console to connect', async () =>
      (await page.getAttribute('body', 'data-state')) === 'connected' ? true : undefined,
    );
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the programme, prepared and presented', () => {
  it('the operator uploads a deck and prepares a three-item agenda with it', async () => {
    const pdf = path.join(dir, 'ha-noi.pdf');
    fs.writeFileSync(pdf, await printDeck(browser, ['Hà Nội: kết quả', 'Hà Nội: kiến nghị']));

    await operator.click('#tab-agenda');
    await operator.fill('#deck-title', 'Tham luận Hà Nội');
    await operator.setInputFiles('#deck-file', pdf);
    await operator.click('#deck-upload');
    await waitFor('the deck ready', async () =>
      (await operator.locator('#deck-status').innerText()) === 'Đã sẵn sàng: Tham luận Hà Nội (2 trang).'
        ? true
        : undefined,
    );
    for (let i = 0; i < 3; i += 1) await operator.click('#agenda-add');
    await operator.selectOption(`${item(1)} select[aria-label="Loại mục"]`, 'opening');
    await operator.fill(`${item(1)} input[aria-label="Tiêu đề"]`, 'Khai mạc');
    await operator.fill(`${item(2)} input[aria-label="Tiêu đề"]`, 'Tham luận của Hà Nội');
    await operator.fill(`${item(2)} input[type="search"]`, 'ha noi');
    await operator.fill(`${item(2)} input[type="number"]`, '5');
    await operator.selectOption(`${item(2)} select[aria-label="Tài liệu trình chiếu"]`, { index: 1 });
    await operator.selectOption(`${item(3)} select[aria-label="Loại mục"]`, 'conclusion');
    await operator.fill(`${item(3)} input[aria-label="Tiêu đề"]`, 'Kết luận');
    await operator.click('#agenda-save');
    await waitFor("the chair's agenda", async () =>
      (await chair.locator('#agenda li').count()) === 3 ? true : undefined,
    );
  });

  it("the chair grants by the agenda: the speaker's deck shows at the other hall; the speaker turns it", async () => {
    await chair.click('#phase-button'); // Mở hội nghị
    await chair.waitForSelector('body[data-phase="open"]');
    await chair.click('#phase-button'); // Bắt đầu phiên họp
    await chair.waitForSelector('body[data-phase="in_session"]');
    await chair.click('#agenda li[data-index="1"]');
    await chair.waitForSelector('#agenda li[data-index="1"].current');
    await chair.click('#agenda-grant');
    await expect(chair.locator('#onair-site').innerText()).resolves.toBe('Hà Nội');
    await waitFor('page 1 at Đà Nẵng', async () => ((await shownPage(danang)) === '1' ? true : undefined));
    // Hà Nội holds the presentation now: its page shows the deck controls; it turns the page.
    await hanoi.waitForSelector('#deck-pager:not([hidden])');
    await hanoi.click('#deck-next');
    await waitFor('page 2 at Đà Nẵng', async () => ((await shownPage(danang)) === '2' ? true : undefined));
    await screenshot(danang, 'flow-deck');
  });

  it('the speaker closes the deck and shares its screen; the token moves; the old capture stops', async () => {
    await hanoi.click('#deck-close');
    await waitFor('the deck off Đà Nẵng', async () =>
      (await shownPage(danang)) === null ? true : undefined,
    );
    await hanoi.click('#share-button');
    await waitFor('Hà Nội sharing', async () => ((await sharing(hanoi)) ? true : undefined));
    await waitFor("Đà Nẵng decoding Hà Nội's screen", async () =>
      (await framesOfScreen(danang, '#programme [data-key="screen"] video')) > 0 ? true : undefined,
    );

    await chair.selectOption('#presentation-target', 'site:da-nang');
    await chair.click('#presentation-give');
    await waitFor('Hà Nội to stop', async () => ((await sharing(hanoi)) ? undefined : true));
    await expect(hanoi.locator('#notice').innerText()).resolves.toBe(
      'Quyền trình chiếu đã được chuyển đi: đã dừng chia sẻ màn hình.',
    );
    await danang.click('#share-button');
    await waitFor("Hà Nội decoding Đà Nẵng's screen", async () =>
      (await framesOfScreen(hanoi, '#programme [data-key="screen"] video')) > 0 ? true : undefined,
    );
  });

  it('a site without the token that publishes a presentation through the protocol is refused', async () => {
    await expect(presentWithoutToken(server, 'hai-phong')).resolves.toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
  });
});
