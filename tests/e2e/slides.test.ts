/**
 * Decks end to end: a PDF printed by Chromium (three pages of Vietnamese text) is uploaded from
 * the operator's page; its pages render with the right glyphs (compared with Chromium's own
 * rendering of the same text, and told apart from the same text without its diacritics); the
 * chair shows it in the "presentation" layout and every page turn reaches three Chromium halls
 * within 500 ms; a file that is not a PDF is refused in words on the operator's page.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  ARTIFACTS,
  launchBrowser,
  openPage,
  outboundStats,
  pageCommand,
  screenshot,
} from '../helpers/browser';
import { makePdf } from '../helpers/pdf';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';
import { deckHtml, printDeck, turnPages } from '../helpers/slides';

jest.setTimeout(180_000);

let server: TestServer;
let browser: Browser;
let chair: Page;
let operator: Page;
const halls: Page[] = [];
let dir: string;
let pdfFile: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-slides-'));
  // Small limits, so the test can go past each: size, pages, time.
  server = await startTestServer({
    decks: { maxMb: 16, maxPages: 20, convertTimeoutSec: 2, convertMemoryMb: 1024, pageWidth: 1600 },
  });
  browser = await launchBrowser();
  // The deck: Chromium prints three 1280×720 pages (fonts embedded, as any office suite does).
  pdfFile = path.join(dir, 'bao-cao.pdf');
  fs.writeFileSync(
    pdfFile,
    await printDeck(browser, ['Báo cáo kết quả', 'Phòng, chống dịch', 'Kiến nghị, đề xuất']),
  );
  chair = (await openPage(browser, `${server.url}/chair?q=low#t=${server.token('chair')}`)).page;
  operator = (await openPage(browser, `${server.url}/operator#t=${server.token('operator')}`)).page;
  for (const code of ['ha-noi', 'da-nang', 'can-tho'])
    halls.push((await openPage(browser, `${server.url}/site?auto=1&q=low#t=${server.token(code)}`)).page);
  for (const page of [chair, operator, ...halls])
    await waitFor('the console to connect', async () =>
      (await page.getAttribute('body', 'data-state')) === 'connected' ? true : undefined,
    );
  await pageCommand(chair, 'conference:open');
  await pageCommand(chair, 'layout:set', { layout: 'presentation' });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a deck, uploaded, shown and turned', () => {
  it('the operator uploads a PDF; the deck is ready for the chair', async () => {
    await operator.click('#tab-agenda');
    await operator.fill('#deck-title', 'Báo cáo tổng kết');
    await operator.setInputFiles('#deck-file', pdfFile);
    await operator.click('#deck-upload');
    await waitFor('the deck to be ready', async () =>
      (await operator.locator('#deck-status').innerText()) === 'Đã sẵn sàng: Báo cáo tổng kết (3 trang).'
        ? true
        : undefined,
    );
    await expect(operator.locator('#deck-list li').allInnerTexts()).resolves.toEqual([
      'Báo cáo tổng kết (3 trang)',
    ]);
    await chair.waitForSelector('#deck-controls:not([hidden])');
  });

  it('not a PDF, damaged, too large, too many pages, too slow to convert: each refused in words; nothing is added', async () => {
    const cases: [string, Buffer | string, string][] = [
      ['khong-phai.pdf', 'Đây không phải là PDF\n'.repeat(100), 'Tệp không phải PDF.'],
      ['hong.pdf', `%PDF-1.7\n${'rác '.repeat(500)}`, 'Tệp PDF bị hỏng, không đọc được.'],
      [
        'qua-lon.pdf',
        Buffer.concat([fs.readFileSync(pdfFile), Buffer.alloc(17 * 1024 * 1024, 0x20)]),
        'Tệp quá lớn (vượt giới hạn dung lượng hoặc bộ nhớ chuyển đổi).',
      ],
      [
        'dai.pdf',
        makePdf(Array.from({ length: 21 }, (_, i) => `Trang ${i + 1}`)),
        'Tài liệu có quá nhiều trang.',
      ],
      // Hundreds of thousands of tiny shapes on a page: rendering overruns the 2 s allowed.
      [
        'nang.pdf',
        makePdf(['1', '2'], { heavyOps: 2_000_000 }),
        'Chuyển đổi quá lâu nên đã dừng. Hãy thử tệp nhỏ hơn.',
      ],
    ];
    for (const [name, body, words] of cases) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, body);
      await operator.setInputFiles('#deck-file', file);
      await operator.click('#deck-upload');
      await waitFor(`the refusal of ${name}`, async () =>
        (await operator.locator('#deck-status').innerText()) === words ? true : undefined,
      );
    }
    await expect(operator.locator('#deck-list li').count()).resolves.toBe(1);
    // The server kept serving: its health answers.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('the chair shows it: every hall shows page 1, with the right glyphs', async () => {
    await chair.click('#deck-show');
    for (const hall of halls)
      await waitFor('the page on the hall', () =>
        hall.evaluate(
          () =>
            (document.querySelector('#programme img.slide') as HTMLImageElement | null)?.complete === true &&
            document.querySelector<HTMLImageElement>('#programme img.slide')?.dataset.page === '1',
        ),
      );
    await screenshot(halls[0] as Page, 'deck-hall');
    // The page as the server rendered it, against Chromium's own rendering of the same text, and
    // of that text without its diacritics: it must look like the first, and unlike the second.
    const compare = (await openPage(browser, `${server.url}/healthz`)).page;
    const shot = async (lines: string[]) => {
      const p = (await openPage(browser, 'about:blank', { width: 1280, height: 720 })).page;
      await p.setContent(deckHtml(lines));
      const png = await p.screenshot();
      await p.context().close();
      return `data:image/png;base64,${png.toString('base64')}`;
    };
    const right = await shot(['Báo cáo kết quả']);
    const bare = await shot(['Bao cao ket qua']);
    const src = await (halls[0] as Page).evaluate(
      () => (document.querySelector('#programme img.slide') as HTMLImageElement).src,
    );
    const diff = await compare.evaluate(
      async ([a, b, c]) => {
        const load = (u: string) =>
          new Promise<HTMLImageElement>((resolve, reject) => {
            const img = new Image();
            img.onload = () => resolve(img);
            img.onerror = reject;
            img.src = u;
          });
        const gray = async (u: string) => {
          const canvas = document.createElement('canvas');
          canvas.width = 640;
          canvas.height = 360;
          const g = canvas.getContext('2d') as CanvasRenderingContext2D;
          g.drawImage(await load(u), 0, 0, 640, 360);
          const d = g.getImageData(0, 0, 640, 360).data;
          const out = new Float32Array(640 * 360);
          for (let i = 0; i < out.length; i += 1)
            out[i] =
              (d[i * 4] as number) * 0.3 + (d[i * 4 + 1] as number) * 0.59 + (d[i * 4 + 2] as number) * 0.11;
          return out;
        };
        const [page, good, plain] = await Promise.all([gray(a), gray(b), gray(c)]);
        const mad = (x: Float32Array, y: Float32Array) =>
          x.reduce((s, v, i) => s + Math.abs(v - (y[i] as number)), 0) / x.length;
        return { right: mad(page, good), bare: mad(page, plain) };
      },
      [src, right, bare] as const,
    );
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'slides-glyphs.json'), `${JSON.stringify(diff, null, 2)}\n`);
    expect(diff.right).toBeLessThan(4);
    expect(diff.bare).toBeGreaterThan(diff.right * 1.5);
    await compare.context().close();
  });

  it('every page turn reaches the three halls within 500 ms', async () => {
    const turns = await turnPages(chair, halls, [2, 3, 2, 1, 2, 3]);
    fs.writeFileSync(path.join(ARTIFACTS, 'slides-turns.json'), `${JSON.stringify(turns, null, 2)}\n`);
    for (const t of turns) expect(Math.max(...t.ms)).toBeLessThan(500);
    // A hall that joins now opens at the current page.
    const late = (
      await openPage(browser, `${server.url}/site?auto=1&q=low#t=${server.token('thua-thien-hue')}`)
    ).page;
    await late.waitForSelector('#programme img.slide[data-page="3"]');
    // Its camera and microphone published before the test ends (a server stopped with a
    // producer still being made waits for the worker's answer before its worker exits).
    await waitFor('the late hall publishing', async () =>
      (await outboundStats(late)).length === 2 ? true : undefined,
    );
    await chair.keyboard.press('ArrowLeft');
    await waitFor('the key to turn back', () =>
      (halls[0] as Page).evaluate(
        () => document.querySelector<HTMLImageElement>('#programme img.slide')?.dataset.page === '2',
      ),
    );
  });
});
