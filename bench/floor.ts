/**
 * Floor benchmark: time from the chair's grant to the first audio packet of the new speaker
 * reaching another site, in real headless Chromium against the real server on loopback.
 *
 * Pages: the chair, two speaker sites that alternate, and a listening site. Per run:
 * the speaker requests the floor (so the listener's consumer for its microphone is prepared,
 * as in a real queue) → the listener starts polling getStats() of that consumer every few ms →
 * the chair page notes the time and sends floor:grant → the listener notes when packetsReceived
 * first grows. Both times are epoch milliseconds (performance.timeOrigin + performance.now(),
 * one system clock, one machine). Then the chair revokes and the run waits until the listener
 * receives nothing more. Also recorded: when the chair's grant was acknowledged.
 */
import type { Page } from 'playwright-core';
import { CHROMIUM, launchBrowser, openPage, pageCommand } from '../tests/helpers/browser';
import { startTestServer } from '../tests/helpers/testServer';
import { waitFor } from '../tests/helpers/waitFor';
import { machine } from './machine';
import { median, percentile, round } from './stats';

type W = {
  hoinghi: {
    client: {
      inboundStats(o: {
        siteCode: string;
        kind: 'audio';
      }): Promise<{ packetsReceived: number; bytesReceived: number }[]>;
      command(e: string, p: unknown): Promise<void>;
      conference: { queue: { id: string; siteCode: string }[] };
    };
  };
  __polling?: boolean;
};

const packets = (page: Page, code: string) =>
  page.evaluate(
    async (c) =>
      (await (window as unknown as W).hoinghi.client.inboundStats({ siteCode: c, kind: 'audio' }))[0]
        ?.packetsReceived,
    code,
  );

export async function benchFloor(runs: number): Promise<Record<string, unknown>> {
  const server = await startTestServer();
  const browser = await launchBrowser();
  try {
    const open = async (who: string, page: string) =>
      (await openPage(browser, `${server.url}/${page}?q=low&auto=1#t=${server.token(who)}`)).page;
    const chair = await open('chair', 'chair');
    const speakers = [await open('ha-noi', 'site'), await open('da-nang', 'site')];
    const codes = ['ha-noi', 'da-nang'];
    const listener = await open('can-tho', 'site');
    await waitFor('the chair to join', () =>
      chair.evaluate(() => document.body.dataset.state === 'connected'),
    );
    await pageCommand(chair, 'conference:open');
    await pageCommand(chair, 'conference:start');

    const latencies: number[] = [];
    const acks: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const k = i % 2;
      const speaker = speakers[k] as Page;
      const code = codes[k] as string;
      await pageCommand(speaker, 'floor:request', { title: `Lượt ${i}` });
      const baseline = await waitFor(`the listener prepared for ${code}`, async () => {
        const n = await packets(listener, code);
        return n === undefined ? undefined : { n };
      });
      const requestId = await waitFor('the request in the chair’s state', () =>
        chair.evaluate(
          (c) => (window as unknown as W).hoinghi.client.conference.queue.find((r) => r.siteCode === c)?.id,
          code,
        ),
      );
      const first = listener.evaluate(
        async ([c, base]) => {
          const w = window as unknown as W;
          w.__polling = true;
          for (;;) {
            const s = (await w.hoinghi.client.inboundStats({ siteCode: c as string, kind: 'audio' }))[0];
            if (s && s.packetsReceived > (base as number)) return performance.timeOrigin + performance.now();
            await new Promise((r) => setTimeout(r, 2));
          }
        },
        [code, baseline.n] as const,
      );
      await listener.waitForFunction(() => (window as unknown as W).__polling === true);
      const [t0, tAck] = await chair.evaluate(async (id) => {
        const start = performance.timeOrigin + performance.now();
        await (window as unknown as W).hoinghi.client.command('floor:grant', { requestId: id });
        return [start, performance.timeOrigin + performance.now()];
      }, requestId);
      const t1 = await first;
      await listener.evaluate(() => ((window as unknown as W).__polling = false));
      if (i > 0) {
        latencies.push(t1 - t0);
        acks.push(tAck - t0);
      }
      process.stdout.write(
        `  grant ${i}${i === 0 ? ' (warm-up)' : ''}: first packet after ${round(t1 - t0)} ms (ack ${round(tAck - t0)} ms)\n`,
      );
      await pageCommand(chair, 'floor:revoke');
      // Quiet for 300 ms at the listener before the next grant.
      let last = -1;
      let since = Date.now();
      await waitFor(`${code} silent again`, async () => {
        const n = (await packets(listener, code)) ?? 0;
        if (n !== last) {
          last = n;
          since = Date.now();
        }
        return Date.now() - since >= 300 || undefined;
      });
    }
    return {
      benchmark: 'floor',
      description:
        "time from the chair page sending floor:grant to the listening site's first audio packet from the new speaker (getStats polled every ~2 ms)",
      runs: latencies.length,
      median_ms: round(median(latencies)),
      p90_ms: round(percentile(latencies, 90)),
      min_ms: round(Math.min(...latencies)),
      max_ms: round(Math.max(...latencies)),
      samples_ms: latencies.map((x) => round(x)),
      grant_ack_median_ms: round(median(acks)),
      target_median_ms: 150,
      machine: machine(CHROMIUM),
      date: new Date().toISOString(),
    };
  } finally {
    await browser.close();
    await server.stop();
  }
}
