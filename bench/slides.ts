/**
 * npm run bench -- slides [--runs N]
 *
 * Deck page turns at the halls: a 10-page PDF printed by Chromium is uploaded to the real
 * server, the chair (a Chromium page) shows it in the "presentation" layout and turns N pages
 * (default 30, each next or previous at random); three Chromium halls time, each, the turn to
 * the new page's image loaded (the next and previous pages are fetched ahead). Reports p50, p90
 * and max over every hall and turn. Writes bench/results/slides.json.
 */
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPage, pageCommand } from '../tests/helpers/browser';
import { printDeck, turnPages } from '../tests/helpers/slides';
import { type TestServer, startTestServer } from '../tests/helpers/testServer';
import { waitFor } from '../tests/helpers/waitFor';
import { machine } from './machine';
import { median, percentile, round } from './stats';

const PAGES = 10;

export async function benchSlides(turns: number): Promise<Record<string, unknown>> {
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  try {
    server = await startTestServer();
    browser = await launchBrowser();
    const pdf = await printDeck(
      browser,
      Array.from({ length: PAGES }, (_, i) => `Trang ${i + 1}: báo cáo kết quả`),
    );
    const res = await fetch(`${server.url}/api/decks?title=bench`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token('operator')}`, 'content-type': 'application/pdf' },
      body: new Uint8Array(pdf),
    });
    const { id } = (await res.json()) as { id: string };
    const started = Date.now();
    const s = server;
    await waitFor('the deck converted', async () => {
      const job = (await (
        await fetch(`${s.url}/api/decks/${id}`, {
          headers: { authorization: `Bearer ${s.token('operator')}` },
        })
      ).json()) as { status: string };
      return job.status === 'converting' ? undefined : job;
    });
    const convertMs = Date.now() - started;
    const chair = (await openPage(browser, `${server.url}/chair?q=low#t=${server.token('chair')}`)).page;
    const halls: Page[] = [];
    for (const code of ['ha-noi', 'da-nang', 'can-tho'])
      halls.push((await openPage(browser, `${server.url}/site?auto=1&q=low#t=${server.token(code)}`)).page);
    for (const page of [chair, ...halls])
      await waitFor('the console to connect', async () =>
        (await page.getAttribute('body', 'data-state')) === 'connected' ? true : undefined,
      );
    await pageCommand(chair, 'conference:open');
    await pageCommand(chair, 'layout:set', { layout: 'presentation' });
    await pageCommand(chair, 'slide:show', { deckId: id, page: 1 });
    // A walk through the deck: mostly forward, sometimes back, as a speaker goes.
    let at = 1;
    const plan: number[] = [];
    for (let i = 0; i < turns; i += 1) {
      at = at === PAGES ? at - 1 : at === 1 || Math.random() < 0.75 ? at + 1 : at - 1;
      plan.push(at);
    }
    const timed = await turnPages(chair, halls, plan);
    const all = timed.flatMap((t) => t.ms);
    return {
      benchmark: 'slides',
      description:
        'deck page turn: the chair sends slide:page → the page image loaded at each of three Chromium halls',
      halls: halls.length,
      turns,
      deck_pages: PAGES,
      convert_ms: convertMs,
      p50_ms: round(median(all)),
      p90_ms: round(percentile(all, 90)),
      max_ms: round(Math.max(...all)),
      within_500_ms: all.filter((x) => x < 500).length / all.length,
      per_turn_ms: timed,
      machine: machine(),
      date: new Date().toISOString(),
    };
  } finally {
    await browser?.close();
    await server?.stop();
  }
}
