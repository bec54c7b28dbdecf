/**
 * What a hall's page does when its link ends, in Chromium against the real server: it expires
 * while the page is open and silent, or it is reissued by the operator. The page says which, in
 * Vietnamese, and does not try again; reopening the old link is refused with the same words.
 * And a page whose handshake is refused because the link already has its sockets open comes in
 * by itself once they are gone.
 */
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot } from '../helpers/browser';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';
import { type TestSocket, connect } from '../helpers/wsClient';

jest.setTimeout(90_000);

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startTestServer({
    signaling: { ratePerSec: 1000, burst: 2000, maxSocketsPerCredential: 4 },
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const state = (page: Page) => page.getAttribute('body', 'data-state');
const until = (page: Page, what: string, want: string, timeoutMs = 20_000) =>
  waitFor(`${what}: page state ${want}`, async () => ((await state(page)) === want ? true : undefined), {
    timeoutMs,
    missing: () => state(page),
  });

async function openSite(token: string): Promise<Page> {
  return (await openPage(browser, `${server.url}/site#t=${token}`)).page;
}

describe("a hall's link ends while its page is open", () => {
  it('expired: the session ends at the expiry with its own message, and the link is refused afterwards', async () => {
    const now = Math.floor(Date.now() / 1000) * 1000;
    const token = server.token('tay-ninh', { ttlSec: 8, now });
    const page = await openSite(token);
    await until(page, 'the hall joins', 'connected');
    await until(page, 'the link expires', 'closed', 15_000);
    const closedAt = Date.now();
    expect(closedAt - (now + 8000)).toBeLessThan(1500);
    await expect(page.locator('#notice').textContent()).resolves.toContain('hết hạn');
    await screenshot(page, 'link-expired');
    await page.reload();
    await until(page, 'the expired link is refused', 'refused');
    await expect(page.getAttribute('body', 'data-error')).resolves.toBe('AUTH_EXPIRED');
    await expect(page.locator('#notice').textContent()).resolves.toBe(
      'Đường dẫn tham dự đã hết hạn. Xin liên hệ ban tổ chức để được cấp đường dẫn mới.',
    );
    await page.context().close();
  });

  it('reissued by the operator: the old page is told at once, the old link is refused, the new one works', async () => {
    const page = await openSite(server.token('long-an'));
    await until(page, 'the hall joins', 'connected');
    const res = await fetch(`${server.url}/api/credentials/long-an/reissue`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token('operator')}` },
    });
    expect(res.status).toBe(200);
    const { link } = (await res.json()) as { link: { url: string } };
    await until(page, 'the old page is closed', 'closed', 5000);
    await expect(page.locator('#notice').textContent()).resolves.toContain('đường dẫn mới');
    await screenshot(page, 'link-revoked');
    await page.reload();
    await until(page, 'the old link is refused', 'refused');
    await expect(page.getAttribute('body', 'data-error')).resolves.toBe('AUTH_REVOKED');
    await page.context().close();
    const fresh = await openSite(new URL(link.url).hash.slice(3));
    await until(fresh, 'the new link joins', 'connected');
    await fresh.context().close();
  });
});

describe('a handshake refused for too many sockets on the link', () => {
  it('the page waits and comes in by itself once the link has room', async () => {
    const token = server.token('ben-tre');
    const squatters: TestSocket[] = [];
    for (let i = 0; i < 4; i++) squatters.push(await connect(server.url, token));
    const page = await openSite(token);
    await until(page, 'the page is refused for now', 'reconnecting');
    await expect(connect(server.url, token)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    for (const s of squatters) s.close();
    await until(page, 'the page comes in by itself', 'connected', 20_000);
    await page.context().close();
  });
});
