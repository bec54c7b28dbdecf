/**
 * Who is heard, enforced on the server, in real Chromium (chair + 3 sites, fake microphones):
 * before any grant B and C receive no audio bytes from A; after the grant they receive A's audio
 * within 1 s; after the revoke it stops reaching them within 1 s — also when A's client has been
 * altered to ignore the revoke and keep sending (its own outbound counters keep growing).
 * Commands go through the page's controller (protocol level; the clicking UI is issue 4's).
 */
import type { Browser, Page } from 'playwright-core';
import type { ConferenceState } from '../../protocol/conference';
import {
  type PageInbound,
  inboundStats,
  launchBrowser,
  openPage,
  outboundStats,
  pageCommand,
} from '../helpers/browser';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(120_000);

const A = 'ha-noi';
const B = 'da-nang';
const C = 'can-tho';

let server: TestServer;
let browser: Browser;
let chair: Page;
const sites: Record<string, Page> = {};

const audioFrom = async (page: Page, code: string): Promise<PageInbound | undefined> =>
  (await inboundStats(page)).find((s) => s.siteCode === code && s.kind === 'audio');

const sentAudio = async (page: Page) => (await outboundStats(page)).find((s) => s.source === 'microphone');

const state = (page: Page) =>
  page.evaluate(
    () =>
      (window as unknown as { hoinghi: { client: { conference: ConferenceState } } }).hoinghi.client
        .conference,
  );

/** Polls until the page's inbound audio from `code` has not grown for `quietMs`; returns when it last grew. */
async function audioStopped(page: Page, code: string, quietMs: number, timeoutMs: number): Promise<number> {
  let last = -1;
  let lastChange = Date.now();
  return waitFor(
    `audio from ${code} to stop`,
    async () => {
      const bytes = (await audioFrom(page, code))?.bytesReceived ?? 0;
      const now = Date.now();
      if (bytes !== last) {
        last = bytes;
        lastChange = now;
      }
      return now - lastChange >= quietMs ? lastChange : undefined;
    },
    { timeoutMs, intervalMs: 50 },
  );
}

beforeAll(async () => {
  server = await startTestServer();
  browser = await launchBrowser();
  ({ page: chair } = await openPage(browser, `${server.url}/chair?q=low#t=${server.token('chair')}`));
  for (const code of [A, B, C])
    ({ page: sites[code] } = await openPage(
      browser,
      `${server.url}/site?q=low&auto=1#t=${server.token(code)}`,
    ));
  for (const code of [A, B, C]) {
    await waitFor(
      `${code} publishing its microphone`,
      async () => ((await sentAudio(sites[code] as Page))?.bytesSent ?? 0) > 0,
    );
  }
  await pageCommand(chair, 'conference:open');
  await pageCommand(chair, 'conference:start');
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('the floor, enforced on the server', () => {
  it('before any grant, B and C receive no audio bytes from A (A is sending all along)', async () => {
    await pageCommand(sites[A] as Page, 'floor:request', { title: 'Tham luận về phát triển kinh tế số' });
    // Queued: the consumers for A's microphone exist at B and C, and carry nothing.
    for (const code of [B, C]) {
      await waitFor(`${code} prepared for A's audio`, () => audioFrom(sites[code] as Page, A));
    }
    const sentBefore = (await sentAudio(sites[A] as Page))?.bytesSent ?? 0;
    await waitFor(
      'A to keep sending',
      async () => ((await sentAudio(sites[A] as Page))?.bytesSent ?? 0) > sentBefore,
    );
    for (const code of [B, C]) expect((await audioFrom(sites[code] as Page, A))?.bytesReceived).toBe(0);
  });

  it("after the chair grants A the floor, B and C receive A's audio within 1 s, with sound in it", async () => {
    const requestId = (await state(chair)).queue.find((r) => r.siteCode === A)?.id;
    const granted = Date.now();
    await pageCommand(chair, 'floor:grant', { requestId });
    for (const code of [B, C]) {
      const first = await waitFor(
        `${code} to receive A's audio`,
        async () => {
          const s = await audioFrom(sites[code] as Page, A);
          return s && s.bytesReceived > 0 ? s : undefined;
        },
        { timeoutMs: 1000, intervalMs: 20 },
      );
      const later = await waitFor(`${code}: A's audio growing with energy`, async () => {
        const s = await audioFrom(sites[code] as Page, A);
        return s && s.bytesReceived > first.bytesReceived && s.totalAudioEnergy > 0 ? s : undefined;
      });
      expect(later.bytesReceived).toBeGreaterThan(first.bytesReceived);
      await waitFor(
        `${code}: an audio level above 0`,
        async () => ((await audioFrom(sites[code] as Page, A))?.audioLevel ?? 0) > 0,
        {
          timeoutMs: 5000,
          intervalMs: 20,
        },
      );
    }
    expect(Date.now() - granted).toBeLessThan(10_000);
  });

  it('after revoke, A’s audio stops reaching B and C within 1 s, although A’s altered client keeps sending', async () => {
    // A's client is never told to mute and never stops sending on its own: it behaves exactly
    // like a client altered to ignore the revoke. Only the server can stop A being heard.
    await (sites[A] as Page).evaluate(() => {
      (
        window as unknown as { hoinghi: { client: { on(e: string, f: () => void): void } } }
      ).hoinghi.client.on('conference', () => undefined);
    });
    const revoked = Date.now();
    await pageCommand(chair, 'floor:revoke');
    const stops = await Promise.all([B, C].map((code) => audioStopped(sites[code] as Page, A, 500, 5000)));
    for (const stoppedAt of stops) expect(stoppedAt - revoked).toBeLessThanOrEqual(1000);
    // A is still sending: only the server stopped forwarding it.
    const sent = (await sentAudio(sites[A] as Page))?.bytesSent ?? 0;
    await waitFor(
      "A's client still sending",
      async () => ((await sentAudio(sites[A] as Page))?.bytesSent ?? 0) > sent,
    );
    expect((await state(sites[B] as Page)).onAir).toBeNull();
  });

  it('the chair is heard by every site throughout', async () => {
    for (const code of [A, B, C]) {
      const s = (await inboundStats(sites[code] as Page)).find(
        (x) => x.role === 'chair' && x.kind === 'audio',
      );
      expect(s?.bytesReceived).toBeGreaterThan(0);
    }
  });
});
