/** The scene most recording tests start from: a chair and one hall in Chromium, the hall on air. */
import type { Browser, Page } from 'playwright-core';
import { openPage, pageCommand } from './browser';
import type { TestServer } from './testServer';
import { waitFor } from './waitFor';

/** Opens the chair's and the hall's pages (low quality), opens and starts the conference, grants the hall 10 min. */
export async function hallOnAir(
  server: TestServer,
  browser: Browser,
  code: string,
): Promise<{ chair: Page; hall: Page }> {
  const { page: chair } = await openPage(browser, `${server.url}/chair?q=low#t=${server.token('chair')}`);
  const { page: hall } = await openPage(browser, `${server.url}/site?q=low&auto=1#t=${server.token(code)}`);
  await pageCommand(chair, 'conference:open');
  await pageCommand(chair, 'conference:start');
  await pageCommand(hall, 'floor:request', { title: 'Phát biểu của Đà Nẵng' });
  const requestId = await waitFor('the request', () => server.app.service.state.queue[0]?.id);
  await pageCommand(chair, 'floor:grant', { requestId, allottedSec: 600 });
  return { chair, hall };
}
