/** Deck helpers shared by the slides test and benchmark: a printable deck, and timed page turns. */
import type { Browser, Page } from 'playwright-core';
import { waitFor } from './waitFor';

/** HTML of a deck: one 1280×720 page per line of text, large, in Chromium's default sans. */
export function deckHtml(lines: string[]): string {
  const page = (text: string, i: number) =>
    `<section style="width:1280px;height:720px;box-sizing:border-box;padding:120px 100px;background:#fff;${
      i < lines.length - 1 ? 'break-after:page;' : ''
    }"><h1 style="margin:0;font:bold 96px 'DejaVu Sans',sans-serif;color:#7a1712">${text}</h1></section>`;
  return `<!doctype html><html><head><meta charset="utf-8"><style>@page{size:1280px 720px;margin:0}body{margin:0}</style></head><body>${lines
    .map(page)
    .join('')}</body></html>`;
}

/**
 * Turns the deck shown to each page in turn from the chair's page (its own controller) and
 * times, at every hall, the push to the page's image loaded: ms per hall, per turn.
 */
export async function turnPages(
  chair: Page,
  halls: Page[],
  pages: number[],
): Promise<{ page: number; ms: number[] }[]> {
  const out: { page: number; ms: number[] }[] = [];
  for (const page of pages) {
    const seen = await Promise.all(
      halls.map((h) =>
        h.evaluate(
          () => (window as unknown as { hoinghi: { slideShown: unknown[] } }).hoinghi.slideShown.length,
        ),
      ),
    );
    const sent = Date.now();
    await chair.evaluate(
      (p) =>
        (
          window as unknown as { hoinghi: { client: { command(e: string, x: unknown): Promise<void> } } }
        ).hoinghi.client.command('slide:page', { page: p }),
      page,
    );
    const ms = await Promise.all(
      halls.map((h, i) =>
        waitFor(`page ${page} at hall ${i + 1}`, () =>
          h.evaluate(
            ([n, p]) => {
              const shown = (window as unknown as { hoinghi: { slideShown: { page: number; at: number }[] } })
                .hoinghi.slideShown;
              return shown.slice(n).find((s) => s.page === p)?.at ?? null;
            },
            [seen[i] as number, page] as const,
          ),
        ).then((at) => at - sent),
      ),
    );
    out.push({ page, ms });
  }
  return out;
}

/** A PDF of those lines, one 1280×720 page each, printed by Chromium (fonts embedded). */
export async function printDeck(browser: Browser, lines: string[]): Promise<Buffer> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.setContent(deckHtml(lines));
    return await page.pdf({ width: '1280px', height: '720px', printBackground: true });
  } finally {
    await context.close();
  }
}
