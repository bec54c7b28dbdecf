/**
 * Wall benchmark: the central video wall's downlink with N real Chromium sites publishing
 * 3-layer VP8 simulcast. The server sends the wall the lowest layer for tiles (mediasoup
 * preferred layers). Measured over a window: the wall's total inbound video bitrate, next to
 * what it would be if every tile came at the highest layer (the sum of the sites' own
 * highest-layer send rates, from their outbound-rtp stats per rid), and the layer mediasoup
 * actually forwards for each wall consumer.
 */
import type { Page } from 'playwright-core';
import {
  CHROMIUM,
  type PageOutbound,
  inboundStats,
  launchBrowser,
  openPage,
  outboundStats,
} from '../tests/helpers/browser';
import { startTestServer } from '../tests/helpers/testServer';
import { waitFor } from '../tests/helpers/waitFor';
import { machine } from './machine';
import { round } from './stats';

const SITES = [
  'ha-noi',
  'hai-phong',
  'da-nang',
  'can-tho',
  'thua-thien-hue',
  'quang-ninh',
  'nghe-an',
  'lao-cai',
];
const WINDOW_MS = 8000;

type Layered = PageOutbound & { layers: { rid: string; bytesSent: number; frameWidth: number }[] };

export async function benchWall(sites: number): Promise<Record<string, unknown>> {
  const n = Math.max(6, Math.min(sites, SITES.length));
  const server = await startTestServer();
  const browser = await launchBrowser();
  try {
    const wall = (await openPage(browser, `${server.url}/wall#t=${server.token('wall')}`)).page;
    const senders: Page[] = [];
    for (const code of SITES.slice(0, n)) {
      senders.push((await openPage(browser, `${server.url}/site?auto=1#t=${server.token(code)}`)).page);
    }
    await waitFor(
      `the wall receiving ${n} tiles`,
      async () => {
        const v = (await inboundStats(wall)).filter((s) => s.kind === 'video' && s.framesDecoded > 0);
        return v.length >= n || undefined;
      },
      { timeoutMs: 60_000 },
    );
    // Let bandwidth estimation and simulcast settle: every sender sending on more than one layer.
    // (Under CPU load Chrome may stop a layer; the highest layer still sending counts as "high".)
    await waitFor(
      'the senders to send simulcast',
      async () => {
        const all = await Promise.all(
          senders.map(
            async (p) => (await outboundStats(p)).find((s) => s.source === 'camera') as Layered | undefined,
          ),
        );
        return all.every((s) => s && s.layers.filter((l) => l.bytesSent > 0).length >= 2) || undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );

    const sample = async () => ({
      at: Date.now(),
      wall: (await inboundStats(wall))
        .filter((s) => s.kind === 'video')
        .reduce((a, s) => a + s.bytesReceived, 0),
      sent: await Promise.all(
        senders.map(async (p) => (await outboundStats(p)).find((s) => s.source === 'camera') as Layered),
      ),
    });
    const a = await sample();
    await waitFor('the measurement window', () => Date.now() - a.at >= WINDOW_MS || undefined, {
      timeoutMs: WINDOW_MS + 5000,
      intervalMs: 200,
    });
    const b = await sample();
    const secs = (b.at - a.at) / 1000;
    const kbps = (bytes: number) => round((bytes * 8) / 1000 / secs);
    const perLayer = (i: number, pick: (l: Layered['layers']) => Layered['layers'][number] | undefined) =>
      (pick(b.sent[i]?.layers ?? [])?.bytesSent ?? 0) - (pick(a.sent[i]?.layers ?? [])?.bytesSent ?? 0);
    const lowest = (l: Layered['layers']) => l[0];
    const layerDeltas = (i: number) =>
      (b.sent[i]?.layers ?? []).map(
        (l) => l.bytesSent - ((a.sent[i]?.layers ?? []).find((x) => x.rid === l.rid)?.bytesSent ?? 0),
      );
    // "High": each sender's busiest layer over the window (its top layer, unless Chrome paused it).
    const ifHigh = senders.reduce((acc, _p, i) => acc + Math.max(0, ...layerDeltas(i)), 0);
    const ifLow = senders.reduce((acc, _p, i) => acc + perLayer(i, lowest), 0);
    const layers = server.app.media().wallLayers();
    return {
      benchmark: 'wall',
      description:
        'inbound video bitrate of the video wall with N publishing sites, tiles at the lowest simulcast layer',
      sites: n,
      window_s: round(secs),
      wall_inbound_video_kbps: kbps(b.wall - a.wall),
      if_every_tile_high_kbps: kbps(ifHigh),
      senders_lowest_layer_kbps: kbps(ifLow),
      ratio_wall_to_all_high: round((b.wall - a.wall) / ifHigh, 3),
      wall_consumer_layers: layers,
      sender_layer_widths: b.sent.map((s) => s.layers.map((l) => `${l.rid}:${l.frameWidth}`).join(' ')),
      machine: machine(CHROMIUM),
      date: new Date().toISOString(),
    };
  } finally {
    await browser.close();
    await server.stop();
  }
}
