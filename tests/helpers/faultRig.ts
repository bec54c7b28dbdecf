/**
 * The set-up the fault tests and the recovery benchmark share: a real server with two media
 * workers, hall A reaching it only through a FaultRelay (its page and socket over the relay's
 * TCP port; its media over the relay's UDP port, the server giving A's browser the relay's
 * address as its ICE candidate), hall B, the chair and the operator connected directly, and
 * A on air. Plus the measures both take: audio arriving, the speaker's time left.
 */
import type { Browser, Page } from 'playwright-core';
import { type PageInbound, inboundStats, launchBrowser, openPage, pageCommand } from './browser';
import { FaultRelay } from './relay';
import { type TestServer, startTestServer } from './testServer';
import { waitFor } from './waitFor';

export const A = 'ha-noi';
export const B = 'da-nang';

export interface FaultRig {
  server: TestServer;
  relay: FaultRelay;
  browser: Browser;
  chair: Page;
  operator: Page;
  siteA: Page;
  siteB: Page;
  close(): Promise<void>;
}

export async function startFaultRig(
  opts: { operatorViewport?: { width: number; height: number } } = {},
): Promise<FaultRig> {
  const relay = new FaultRelay({ seed: 7 });
  const server = await startTestServer(
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
  const browser = await launchBrowser();
  const chair = (await openPage(browser, `${server.url}/chair?q=low#t=${server.token('chair')}`)).page;
  const operator = (
    await openPage(browser, `${server.url}/operator#t=${server.token('operator')}`, opts.operatorViewport)
  ).page;
  const siteA = (await openPage(browser, `${viaRelay}/site?auto=1&q=low#t=${server.token(A)}`)).page;
  const siteB = (await openPage(browser, `${server.url}/site?auto=1&q=low#t=${server.token(B)}`)).page;
  await pageCommand(chair, 'conference:open');
  await pageCommand(chair, 'conference:start');
  await pageCommand(siteA, 'floor:request', { title: 'Tham luận qua đường truyền kém' });
  const requestId = await waitFor(
    'A in the queue',
    () => server.app.service.state.queue.find((r) => r.siteCode === A)?.id,
  );
  await pageCommand(chair, 'floor:grant', { requestId, allottedSec: 3 * 3600 });
  await audioFlowing(siteB, A, 'B hears A');
  return {
    server,
    relay,
    browser,
    chair,
    operator,
    siteA,
    siteB,
    async close() {
      await browser.close();
      await server.stop();
      await relay.close();
    },
  };
}

export const audioFrom = async (page: Page, from: string): Promise<PageInbound | undefined> =>
  (await inboundStats(page)).find((s) => s.siteCode === from && s.kind === 'audio');

/** Waits until `page` receives more audio packets from `from` than it had; returns the count. */
export async function audioFlowing(
  page: Page,
  from: string,
  what: string,
  timeoutMs = 20_000,
): Promise<number> {
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

/** A's remaining time on the floor by the server's state (its paused clock while lost). */
export function remainingMs(server: TestServer): number {
  const on = server.app.service.state.onAir;
  if (!on || on.siteCode !== A) throw new Error('A is not on air');
  return on.endsAt - (on.pausedAt ?? server.app.service.now);
}

/** The fault's own length: the link stays cut until then (a fault, not a wait for a condition). */
export const holdUntil = (t: number): Promise<void> =>
  new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

/** Video frames the page has decoded from a site (0 when it has no such track). */
export const framesFrom = async (page: Page, from: string): Promise<number> =>
  (await inboundStats(page)).find((s) => s.siteCode === from && s.kind === 'video')?.framesDecoded ?? 0;

/** Blacks A out for `ms`; returns when the server noticed it lost and how long audio took to come back at B. */
export async function blackoutOnce(
  rig: FaultRig,
  ms: number,
  during?: () => Promise<void>,
): Promise<{
  lostDetectMs: number;
  reconnectMs: number;
  remainingDriftMs: number;
}> {
  const { server, relay } = rig;
  await audioFlowing(rig.siteB, A, 'B hears A before the blackout');
  const before = remainingMs(server);
  const cutAt = Date.now();
  relay.blackout();
  const lostAt = await waitFor(
    'the server to mark A lost',
    () => (server.app.service.state.away?.[A] ? Date.now() : undefined),
    { timeoutMs: ms + 15_000, intervalMs: 50 },
  );
  if (during) await during();
  await holdUntil(cutAt + ms);
  relay.restore();
  const backAt = Date.now();
  await audioFlowing(rig.siteB, A, 'B hears A again', 30_000);
  const reconnectMs = Date.now() - backAt;
  await waitFor('A back, its clock running', () =>
    !server.app.service.state.away?.[A] && server.app.service.state.onAir?.pausedAt === undefined
      ? true
      : undefined,
  );
  return { lostDetectMs: lostAt - cutAt, reconnectMs, remainingDriftMs: before - remainingMs(server) };
}

/**
 * Kills the central consoles' worker (kill -9); returns how long until the chair decodes A's
 * video again (frames growing on a new consumer), and the longest gap in A's audio at B meanwhile.
 */
export async function killHubOnce(rig: FaultRig): Promise<{
  recoveryMs: number;
  longestStallAtBMs: number;
  /** A's audio packets B received from the kill to the chair's recovery, over what 50 packets/s would give. */
  audioAtBShare: number;
  hallsOnKilledWorker: boolean;
}> {
  const { server, chair, siteB } = rig;
  await waitFor('a full pool', () =>
    server.app.pool.ready && server.app.media().workers === 2 ? true : undefined,
  );
  await waitFor('the chair decoding A', async () => ((await framesFrom(chair, A)) > 0 ? true : undefined));
  const placed = server.app.media().placement();
  const hub = placed.hub as number;
  // After an earlier kill the central consoles may share the halls' worker (nothing moves a
  // session back): then A and B are restarted too, and their gap is not "elsewhere".
  const hallsOnKilledWorker = placed.byPrincipal[A] === hub || placed.byPrincipal[B] === hub;
  let lastB = (await audioFrom(siteB, A))?.packetsReceived ?? 0;
  const firstB = lastB;
  let lastGrowth = Date.now();
  let longest = 0;
  const oldConsumer = (await inboundStats(chair)).find(
    (s) => s.siteCode === A && s.kind === 'video',
  )?.consumerId;
  const pid = server.app.pool.entry(hub)?.worker.pid as number;
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  let seen = -1;
  await waitFor(
    'the chair to decode A again',
    async () => {
      const b = (await audioFrom(siteB, A))?.packetsReceived ?? 0;
      const t = Date.now();
      if (b > lastB) {
        longest = Math.max(longest, t - lastGrowth);
        lastGrowth = t;
        lastB = b;
      }
      // The old consumer went with the worker: decoding again is a new consumer's frame
      // count growing.
      const video = (await inboundStats(chair)).find((s) => s.siteCode === A && s.kind === 'video');
      if (!video || video.consumerId === oldConsumer) return undefined;
      const growing = seen >= 0 && video.framesDecoded > seen;
      seen = video.framesDecoded;
      return growing ? true : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 100 },
  );
  // Opus frames of 20 ms: 50 packets a second while A speaks. Counted from the samples (not
  // from how often they could be taken, which a busy machine slows down).
  const lastAt = Date.now();
  const finalB = (await audioFrom(siteB, A))?.packetsReceived ?? lastB;
  const audioAtBShare = (finalB - firstB) / (((Date.now() - killedAt) / 1000) * 50);
  return {
    audioAtBShare,
    recoveryMs: lastAt - killedAt,
    longestStallAtBMs: Math.max(longest, Date.now() - lastGrowth),
    hallsOnKilledWorker,
  };
}
