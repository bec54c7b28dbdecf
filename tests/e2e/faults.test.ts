/**
 * The control room on a bad day, with real Chromium pages and real media (issue 11). Hall A
 * reaches the server only through the user-space fault relay (tests/helpers/relay.ts): its
 * page and socket over the relay's TCP port, its media over the relay's UDP port (the server
 * gives A's browser the relay's address as its ICE candidate). Hall B, the chair and the
 * operator are connected directly.
 *
 * - A on air is blacked out for 10 s, five times: each time its audio is heard again at B
 *   within 3 s of the link coming back (median), still on air with the time it had left; the
 *   first time, the chair's panel shows it lost with its clock stopped and the operator lost.
 * - A frozen page (Chromium's debugger pauses B's script) is marked lost within
 *   health.lostAfterSec, shown on the chair's and operator's consoles, and back when resumed.
 * - The central consoles' media worker is killed (kill -9): the chair decodes media again
 *   within 10 s without a reload, B keeps hearing A without a break, the queue and the minutes
 *   are unchanged.
 * - At 5 % loss and 200 ms added delay each way A is not dropped for 2 minutes, and the
 *   operator shows it degraded.
 *
 * Screenshots of the operator's view with a degraded and a lost hall go to docs/images.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { MinuteEntry } from '../../protocol/conference';
import {
  ARTIFACTS,
  type PageInbound,
  inboundStats,
  launchBrowser,
  openPage,
  pageCommand,
  screenshot,
} from '../helpers/browser';
import { FaultRelay } from '../helpers/relay';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(420_000);

const A = 'ha-noi';
const B = 'da-nang';
const LOST_AFTER_MS = 10_000;
const BLACKOUT_MS = 10_000;
const IMAGES = path.resolve(__dirname, '..', '..', 'docs', 'images');

let server: TestServer;
let browser: Browser;
let relay: FaultRelay;
let chair: Page;
let operator: Page;
let siteA: Page;
let siteB: Page;
export const figures: Record<string, number[]> = { reconnectMs: [], lostDetectMs: [], workerRecoveryMs: [] };

beforeAll(async () => {
  relay = new FaultRelay({ seed: 7 });
  server = await startTestServer(
    { mediasoup: { numWorkers: 2, logLevel: 'error' } },
    {
      // A's browser is given the relay's address for each of the server's UDP candidates.
      iceCandidates: async (principal, candidates) => {
        if (principal !== A) return candidates;
        const out: Record<string, unknown>[] = [];
        for (const c of candidates) {
          if (c.protocol !== 'udp') continue;
          const port = await relay.udp(Number(c.port), String(c.ip ?? c.address));
          out.push({ ...c, ip: '127.0.0.1', address: '127.0.0.1', port });
        }
        return out;
      },
    },
  );
  const viaRelay = `http://127.0.0.1:${await relay.tcp(server.app.port)}`;
  browser = await launchBrowser();
  chair = (await openPage(browser, `${server.url}/chair?q=low#t=${server.token('chair')}`)).page;
  operator = (
    await openPage(browser, `${server.url}/operator#t=${server.token('operator')}`, {
      width: 1600,
      height: 900,
    })
  ).page;
  siteA = (await openPage(browser, `${viaRelay}/site?auto=1&q=low#t=${server.token(A)}`)).page;
  siteB = (await openPage(browser, `${server.url}/site?auto=1&q=low#t=${server.token(B)}`)).page;
  await pageCommand(chair, 'conference:open');
  await pageCommand(chair, 'conference:start');
  await pageCommand(siteA, 'floor:request', { title: 'Tham luận qua đường truyền kém' });
  const requestId = await waitFor(
    'A in the queue',
    () => server.app.service.state.queue.find((r) => r.siteCode === A)?.id,
  );
  await pageCommand(chair, 'floor:grant', { requestId, allottedSec: 1800 });
  await audioFlowing(siteB, A, 'B hears A');
});

afterAll(async () => {
  const out = path.join(ARTIFACTS, 'faults.json');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(out, JSON.stringify(figures, null, 2));
  await browser?.close();
  await server?.stop();
  await relay?.close();
});

const audioFrom = async (page: Page, from: string): Promise<PageInbound | undefined> =>
  (await inboundStats(page)).find((s) => s.siteCode === from && s.kind === 'audio');

/** Waits until `page` receives audio packets from `from`, more than it had; returns the count. */
async function audioFlowing(page: Page, from: string, what: string, timeoutMs = 20_000): Promise<number> {
  const first = (await audioFrom(page, from).catch(() => undefined))?.packetsReceived ?? 0;
  return waitFor(
    what,
    async () => {
      const n = (await audioFrom(page, from).catch(() => undefined))?.packetsReceived ?? 0;
      return n > first ? n : undefined;
    },
    { timeoutMs, intervalMs: 50, missing: () => inboundStats(page).catch(String) },
  );
}

/** A's remaining time on the floor by the server's state (its paused clock if lost). */
function remainingMs(): number {
  const on = server.app.service.state.onAir;
  if (!on || on.siteCode !== A) throw new Error('A is not on air');
  return on.endsAt - (on.pausedAt ?? server.app.service.now);
}

const minutes = (): MinuteEntry[] => server.app.service.minutes();
const chairTile = (page: Page, code: string) =>
  page.getAttribute(`#sites li[data-site="${code}"]`, 'data-status');
const operatorHealth = (code: string) =>
  operator.getAttribute(`#rows tr[data-site="${code}"]`, 'data-health');

/** The fault's own length: the link stays cut this long after it was cut (not a wait for a condition). */
const holdUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
};

describe('a hall on air whose line goes for 10 s', () => {
  it('is heard again within 3 s of the line coming back (median of 5), still on air with its time', async () => {
    for (let run = 0; run < 5; run += 1) {
      await audioFlowing(siteB, A, `run ${run}: B hears A before the blackout`);
      const before = remainingMs();
      const cutAt = Date.now();
      relay.blackout();
      const lostAt = await waitFor(
        `run ${run}: the server to mark A lost`,
        () => (server.app.service.state.away?.[A] ? Date.now() : undefined),
        { timeoutMs: LOST_AFTER_MS + 2000, intervalMs: 50 },
      );
      figures.lostDetectMs?.push(lostAt - cutAt);
      if (run === 0) {
        // The chair sees it plainly: its tile says so, its countdown stands still.
        await waitFor('the chair to show A lost on air', async () =>
          (await chairTile(chair, A)) === 'onAirLost' ? true : undefined,
        );
        await waitFor('the countdown paused', async () =>
          (await chair.getAttribute('#onair-countdown', 'data-paused')) === 'true' ? true : undefined,
        );
        await expect(chair.locator('#onair-countdown').innerText()).resolves.toMatch(/tạm dừng/);
        await waitFor('the operator to show A lost', async () =>
          (await operatorHealth(A)) === 'lost' ? true : undefined,
        );
        await screenshot(operator, 'operator-health-lost');
        fs.copyFileSync(
          path.join(ARTIFACTS, 'operator-health-lost.png'),
          path.join(IMAGES, 'operator-health-lost.png'),
        );
      }
      await holdUntil(cutAt + BLACKOUT_MS);
      relay.restore();
      const backAt = Date.now();
      await audioFlowing(siteB, A, `run ${run}: B hears A again`, 30_000);
      figures.reconnectMs?.push(Date.now() - backAt);
      const on = server.app.service.state.onAir;
      expect(on?.siteCode).toBe(A);
      await waitFor(`run ${run}: A back (clock running)`, () =>
        !server.app.service.state.away?.[A] && server.app.service.state.onAir?.pausedAt === undefined
          ? true
          : undefined,
      );
      // The time it had left: its clock stopped at its last heartbeat (at most a heartbeat
      // interval before the cut) and ran again when it was back, instead of losing the 10 s.
      expect(Math.abs(before - remainingMs())).toBeLessThan(6000);
    }
    expect(figures.lostDetectMs?.every((ms) => ms <= LOST_AFTER_MS)).toBe(true);
    expect(median(figures.reconnectMs as number[])).toBeLessThanOrEqual(3000);
    // Lost and back, in the minutes; never released.
    const m = minutes();
    expect(m.filter((x) => x.type === 'site.lost' && x.siteCode === A)).toHaveLength(5);
    expect(m.filter((x) => x.type === 'site.back' && x.siteCode === A)).toHaveLength(5);
    expect(m.some((x) => x.type === 'site.released')).toBe(false);
  });
});

describe('a frozen page', () => {
  it('is marked lost within lostAfterSec, shown on the chair and operator consoles, and back when it runs again', async () => {
    const cdp = await siteB.context().newCDPSession(siteB);
    await cdp.send('Debugger.enable');
    const frozenAt = Date.now();
    await cdp.send('Debugger.pause');
    const lostAt = await waitFor(
      'the server to mark B lost',
      () => (server.app.service.state.away?.[B] ? Date.now() : undefined),
      { timeoutMs: LOST_AFTER_MS + 2000, intervalMs: 50 },
    );
    expect(lostAt - frozenAt).toBeLessThanOrEqual(LOST_AFTER_MS);
    await waitFor('the chair to show B reconnecting', async () =>
      (await chairTile(chair, B)) === 'reconnecting' ? true : undefined,
    );
    await waitFor('the operator to show B lost', async () =>
      (await operatorHealth(B)) === 'lost' ? true : undefined,
    );
    await cdp.send('Debugger.resume');
    await waitFor('B back', () => (server.app.service.state.away?.[B] ? undefined : true));
    await waitFor('the chair to show B connected again', async () => {
      const s = await chairTile(chair, B);
      return s !== 'reconnecting' && s !== 'offline' ? true : undefined;
    });
    await cdp.detach();
  });
});

describe("the central consoles' media worker killed", () => {
  it('the chair decodes again within 10 s without a reload; B never stops hearing A; queue and minutes unchanged', async () => {
    const placed = server.app.media().placement();
    const hub = placed.hub as number;
    expect(placed.byPrincipal.chair).toBe(hub);
    expect(placed.byPrincipal[A]).not.toBe(hub);
    expect(placed.byPrincipal[B]).not.toBe(hub);
    await chair.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const chairVideo = async () =>
      (await inboundStats(chair)).find((s) => s.siteCode === A && s.kind === 'video')?.framesDecoded ?? 0;
    await waitFor('the chair decoding A', async () => ((await chairVideo()) > 0 ? true : undefined));
    const queue = structuredClone(server.app.service.state.queue);
    const minutesBefore = minutes().length;
    // B keeps hearing A: sampled every 200 ms from the kill until the chair decodes again.
    let lastB = (await audioFrom(siteB, A))?.packetsReceived ?? 0;
    let longestStallMs = 0;
    let lastGrowth = Date.now();
    const pid = server.app.pool.entry(hub)?.worker.pid as number;
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    await waitFor(
      'the chair to decode A again after the kill',
      async () => {
        const b = (await audioFrom(siteB, A))?.packetsReceived ?? 0;
        const t = Date.now();
        if (b > lastB) {
          longestStallMs = Math.max(longestStallMs, t - lastGrowth);
          lastGrowth = t;
          lastB = b;
        }
        // A new consumer on the chair's side starts its frame count again from zero.
        const frames = await chairVideo();
        return frames > 0 &&
          t - killedAt > 500 &&
          server.app.media().placement().byPrincipal.chair !== undefined
          ? frames
          : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    // Decoding again means new frames after the restart, not the old count.
    const f0 = await chairVideo();
    await waitFor('frames growing at the chair', async () => ((await chairVideo()) > f0 ? true : undefined), {
      timeoutMs: Math.max(1000, 10_000 - (Date.now() - killedAt)),
    });
    figures.workerRecoveryMs?.push(Date.now() - killedAt);
    expect(Date.now() - killedAt).toBeLessThanOrEqual(10_000);
    expect(longestStallMs).toBeLessThan(1500);
    await expect(
      chair.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded),
    ).resolves.toBe(true);
    expect(server.app.service.state.queue).toEqual(queue);
    expect(server.app.service.state.onAir?.siteCode).toBe(A);
    expect(minutes().length).toBe(minutesBefore);
  });
});

describe('a hall at 5 % loss and 200 ms added delay', () => {
  it('is not dropped for 2 minutes, and the operator shows it degraded', async () => {
    relay.set({ delayMs: 200, loss: 0.05 });
    const shown = new Map<string, number>();
    const start = Date.now();
    const lostBefore = minutes().filter((m) => m.type === 'site.lost').length;
    let screenshotTaken = false;
    let dropped = false;
    await waitFor(
      'two minutes on the bad line',
      async () => {
        const level = (await operatorHealth(A)) ?? 'unknown';
        shown.set(level, (shown.get(level) ?? 0) + 1);
        if (level === 'degraded' && !screenshotTaken) {
          screenshotTaken = true;
          await screenshot(operator, 'operator-health-degraded');
          fs.copyFileSync(
            path.join(ARTIFACTS, 'operator-health-degraded.png'),
            path.join(IMAGES, 'operator-health-degraded.png'),
          );
        }
        if (server.app.service.state.away?.[A]) dropped = true;
        return Date.now() - start >= 120_000 ? true : undefined;
      },
      { timeoutMs: 130_000, intervalMs: 1000 },
    );
    relay.set({ delayMs: 0, loss: 0 });
    expect(dropped).toBe(false);
    expect(shown.get('degraded') ?? 0).toBeGreaterThan(0);
    expect(shown.get('lost') ?? 0).toBe(0);
    expect(minutes().filter((m) => m.type === 'site.lost').length).toBe(lostBefore);
    expect(server.app.service.state.onAir?.siteCode).toBe(A);
    // Still heard.
    await audioFlowing(siteB, A, 'B hears A after the bad line');
  });
});
