/**
 * The prepared programme, by clicks: the operator writes a three-item agenda in its editor
 * (kinds, titles, speaking halls found by typing without diacritics, minutes), reorders it and
 * saves; the chair's panel has it at once; the chair moves through it and grants the floor by
 * the agenda, which puts the item's hall on air with the item's time and opens the item's deck
 * at the halls (the hall then holds the presentation). A draft with an item without a title is
 * not sent.
 */
import type { Browser, Page } from 'playwright-core';
import { type Participant, participant } from '../helpers/conferenceClient';
import { launchBrowser, openPage, pageCommand, screenshot } from '../helpers/browser';
import { makePdf } from '../helpers/pdf';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(120_000);

let server: TestServer;
let browser: Browser;
let chair: Page;
let operator: Page;
let viewer: Page;
const halls: Participant[] = [];

const item = (n: number) => `#agenda-items li:nth-child(${n})`;

beforeAll(async () => {
  server = await startTestServer();
  browser = await launchBrowser();
  chair = (await openPage(browser, `${server.url}/chair?q=low#t=${server.token('chair')}`)).page;
  operator = (
    await openPage(browser, `${server.url}/operator#t=${server.token('operator')}`, {
      width: 1600,
      height: 900,
    })
  ).page;
  for (const code of ['ha-noi', 'ba-ria-vung-tau']) halls.push(await participant(server, code));
  viewer = (await openPage(browser, `${server.url}/site?auto=1&q=low#t=${server.token('da-nang')}`)).page;
  // A deck uploaded ahead (its own test is slides.test.ts), to go with the Hà Nội statement.
  const res = await fetch(`${server.url}/api/decks?title=${encodeURIComponent('Số liệu Hà Nội')}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token('operator')}`, 'content-type': 'application/pdf' },
    body: new Uint8Array(makePdf(['Trang 1', 'Trang 2'])),
  });
  expect(res.status).toBe(202);
  for (const page of [chair, operator, viewer])
    await waitFor('the console to connect', async () =>
      (await page.getAttribute('body', 'data-state')) === 'connected' ? true : undefined,
    );
});

afterAll(async () => {
  for (const h of halls) h.close();
  await browser?.close();
  await server?.stop();
});

describe('the agenda, prepared by the operator and followed by the chair', () => {
  it('the operator writes three items, finds the halls without diacritics, reorders and saves', async () => {
    await operator.click('#tab-agenda');
    await operator.waitForSelector('#agenda-view:not([hidden])');
    for (let i = 0; i < 3; i += 1) await operator.click('#agenda-add');
    await expect(operator.locator('#agenda-items li').count()).resolves.toBe(3);

    await operator.selectOption(`${item(1)} select[aria-label="Loại mục"]`, 'opening');
    await operator.fill(`${item(1)} input[aria-label="Tiêu đề"]`, 'Khai mạc hội nghị');
    await operator.fill(`${item(1)} input[type="number"]`, '5');

    await operator.selectOption(`${item(2)} select[aria-label="Loại mục"]`, 'report');
    await operator.fill(`${item(2)} input[aria-label="Tiêu đề"]`, 'Báo cáo tình hình dịch bệnh');
    await operator.fill(`${item(2)} input[type="search"]`, 'ba ria');
    await expect(
      operator.locator(`${item(2)} select[aria-label="Điểm cầu phát biểu"]`).inputValue(),
    ).resolves.toBe('ba-ria-vung-tau');
    await operator.fill(`${item(2)} input[type="number"]`, '10');

    await operator.fill(`${item(3)} input[aria-label="Tiêu đề"]`, 'Tham luận của Hà Nội');
    await operator.fill(`${item(3)} input[type="search"]`, 'ha noi');
    await expect(
      operator.locator(`${item(3)} select[aria-label="Điểm cầu phát biểu"]`).inputValue(),
    ).resolves.toBe('ha-noi');
    await operator.fill(`${item(3)} input[type="number"]`, '3');
    await waitFor('the deck in the choices', async () =>
      (await operator.locator(`${item(3)} select[aria-label="Tài liệu trình chiếu"] option`).count()) === 2
        ? true
        : undefined,
    );
    await operator.selectOption(`${item(3)} select[aria-label="Tài liệu trình chiếu"]`, { index: 1 });
    // The statement before the report.
    await operator.click(`${item(3)} button:has-text("Lên")`);
    await expect(operator.locator(`${item(2)} input[aria-label="Tiêu đề"]`).inputValue()).resolves.toBe(
      'Tham luận của Hà Nội',
    );
    await screenshot(operator, 'agenda-editor');

    const saved = Date.now();
    await operator.click('#agenda-save');
    await waitFor("the chair's panel to have the agenda", async () =>
      (await chair.locator('#agenda li').count()) === 3 ? true : undefined,
    );
    expect(Date.now() - saved).toBeLessThan(1000);
    const lines = await chair.locator('#agenda li').allInnerTexts();
    expect(lines).toEqual([
      'Khai mạc hội nghị — 5 phút',
      'Tham luận của Hà Nội — Hà Nội · 3 phút · tài liệu: Số liệu Hà Nội',
      'Báo cáo tình hình dịch bệnh — Bà Rịa - Vũng Tàu · 10 phút',
    ]);
    await expect(operator.locator('#agenda-status').innerText()).resolves.toBe(
      'Đã lưu: chủ trì đã nhận chương trình.',
    );
  });

  it('the chair moves through the agenda and grants the floor by it: the hall on air with its time', async () => {
    await pageCommand(chair, 'conference:open');
    await pageCommand(chair, 'conference:start');
    await chair.click('#agenda-next');
    await chair.waitForSelector('#agenda li[data-index="0"].current');
    await chair.click('#agenda li[data-index="1"]');
    await chair.waitForSelector('#agenda li[data-index="1"].current');
    await chair.click('#agenda-grant');
    await chair.waitForSelector('#onair:not([hidden])');
    await expect(chair.locator('#onair-site').innerText()).resolves.toBe('Hà Nội');
    await expect(chair.locator('#onair-title').innerText()).resolves.toBe('Tham luận của Hà Nội');
    await expect(chair.locator('#onair-countdown').innerText()).resolves.toMatch(/^(3:00|2:5\d)$/);
    // The item's deck: page 1 at the halls, beside the speaker.
    await viewer.waitForSelector('#programme img.slide[data-page="1"]');
    await expect(chair.locator('#presentation-holder').innerText()).resolves.toBe('Đang giữ: Hà Nội');
    await screenshot(chair, 'agenda-chair-granted');
  });

  it('an item without a title is not sent; the chair keeps the saved agenda', async () => {
    await operator.click('#agenda-add');
    await operator.click('#agenda-save');
    await expect(operator.locator('#agenda-status').innerText()).resolves.toBe('Mục 4 chưa có tiêu đề.');
    await expect(chair.locator('#agenda li').count()).resolves.toBe(3);
    await operator.click('#agenda-revert');
    await expect(operator.locator('#agenda-items li').count()).resolves.toBe(3);
  });
});
