/**
 * End to end in headless Chromium with fake camera/microphone against the real server
 * and a real mediasoup worker: the chair and two sites join; media flows both ways.
 */
import type { Browser, Page } from 'playwright-core';
import {
  type PageInbound,
  inboundStats,
  launchBrowser,
  openPage,
  pageCommand,
  screenshot,
} from '../helpers/browser';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(90_000);

let server: TestServer;
let browser: Browser;
let chair: Page;
let siteA: Page;
let siteB: Page;

const A = 'ha-noi';
const B = 'da-nang';
const CHAIR = 'trung-uong';

function find(stats: PageInbound[], siteCode: string, kind: 'audio' | 'video'): PageInbound | undefined {
  return stats.find((s) => s.siteCode === siteCode && s.kind === kind);
}

/** Waits until the page receives (siteCode, kind) with bytes growing between two samples (and frames decoded for video). */
async function expectFlowing(page: Page, siteCode: string, kind: 'audio' | 'video', label: string) {
  const first = await waitFor(
    `${label}: ${kind} from ${siteCode} arriving`,
    async () => {
      const s = find(await inboundStats(page), siteCode, kind);
      return s && s.bytesReceived > 0 && (kind === 'audio' || s.framesDecoded > 0) ? s : undefined;
    },
    { timeoutMs: 20_000, missing: async () => inboundStats(page) },
  );
  const later = await waitFor(
    `${label}: ${kind} bytes from ${siteCode} growing`,
    async () => {
      const s = find(await inboundStats(page), siteCode, kind);
      return s && s.bytesReceived > first.bytesReceived ? s : undefined;
    },
    { timeoutMs: 10_000 },
  );
  expect(later.bytesReceived).toBeGreaterThan(first.bytesReceived);
  if (kind === 'video') expect(later.framesDecoded).toBeGreaterThan(0);
  return later;
}

beforeAll(async () => {
  server = await startTestServer();
  browser = await launchBrowser();
  ({ page: chair } = await openPage(browser, `${server.url}/chair#t=${server.token('chair')}`));
  ({ page: siteA } = await openPage(browser, `${server.url}/site?auto=1#t=${server.token(A)}`));
  ({ page: siteB } = await openPage(browser, `${server.url}/site?auto=1#t=${server.token(B)}`));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('chair and two sites in Chromium', () => {
  it("each site receives the chair's video (frames decoded) and audio, bytes growing", async () => {
    for (const [page, name] of [
      [siteA, A],
      [siteB, B],
    ] as const) {
      await expectFlowing(page, CHAIR, 'video', name);
      const audio = await expectFlowing(page, CHAIR, 'audio', name);
      expect(audio.packetsReceived).toBeGreaterThan(0);
    }
  });

  it('once both sites ask for the floor the chair receives their video (live in its queue), frames decoded, bytes growing', async () => {
    // Halls neither waiting nor on air are words on the chair's panel: no picture is sent.
    await pageCommand(chair, 'conference:open');
    for (const page of [siteA, siteB]) await pageCommand(page, 'floor:request', { title: 'Tham luận' });
    await expectFlowing(chair, A, 'video', 'chair');
    await expectFlowing(chair, B, 'video', 'chair');
  });

  it('sites do not receive each other, and no site microphone reaches anyone before its grant', async () => {
    const a = await inboundStats(siteA);
    // Queued halls are prepared at the others (paused) so a grant switches at once: nothing flows.
    expect(a.some((s) => s.siteCode === CHAIR && s.bytesReceived > 0)).toBe(true);
    expect(a.filter((s) => s.siteCode !== CHAIR && s.bytesReceived > 0)).toEqual([]);
    const c = await inboundStats(chair);
    expect(c.filter((s) => s.kind === 'audio' && s.bytesReceived > 0)).toEqual([]);
  });

  it('the pages show the state in words and the names of the sites', async () => {
    await expect(siteA.locator('#state').textContent()).resolves.toBe('Đã kết nối');
    await expect(siteA.locator('#site-name').textContent()).resolves.toBe('Hà Nội');
    await waitFor('chair grid shows two connected sites', async () =>
      (await chair.locator('#sites li.hall:not([data-status="offline"])').count()) === 2 ? true : undefined,
    );
    await expect(chair.locator('#summary').textContent()).resolves.toBe('2/63 điểm cầu đã kết nối');
    await screenshot(chair, 'foundation-chair');
    await screenshot(siteA, 'foundation-site');
  });

  it('a bad token is refused with its error code shown, and the others keep receiving', async () => {
    const { page: intruder } = await openPage(browser, `${server.url}/site#t=site.hue.${'x'.repeat(32)}`);
    await waitFor('the refusal to show', async () =>
      (await intruder.getAttribute('body', 'data-state')) === 'refused' ? true : undefined,
    );
    await expect(intruder.getAttribute('body', 'data-error')).resolves.toBe('AUTH_INVALID_TOKEN');
    await expect(intruder.locator('#notice').textContent()).resolves.toContain('Mã tham dự không hợp lệ');
    await screenshot(intruder, 'foundation-refused');
    await intruder.context().close();
    await expectFlowing(siteB, CHAIR, 'video', 'site B after the refusal');
    await expectFlowing(chair, A, 'video', 'chair after the refusal');
  });
});
