/**
 * Join benchmark: time from opening a site page to its first decoded remote video frame
 * (the chair's camera), in real headless Chromium against the real server on loopback.
 *
 * The chair page publishes throughout. Each run opens a fresh browser context (no cache,
 * no storage) on the site link and reads the page's own timeline: performance.mark()s set
 * by the client at each step, relative to navigation start; "first-remote-frame" is the
 * video element's `loadeddata` event, i.e. the first frame decoded and ready to show.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { CHROMIUM, launchBrowser, openPage } from '../tests/helpers/browser';
import { startTestServer } from '../tests/helpers/testServer';
import { waitFor } from '../tests/helpers/waitFor';
import { machine } from './machine';
import { median, percentile, round } from './stats';

const STEPS = [
  'script',
  'connected',
  'joined',
  'device-loaded',
  'consumer-video',
  'first-remote-frame',
  'ready',
] as const;
/** A bare mediasoup + mediasoup-client page with no rules, measured on this machine kind. */
const REFERENCE_BARE_MS = 270;

const BARE_SRC = path.join(__dirname, '..', '..', 'bench', 'bare');

/** Serves the bare reference page (bundled now with esbuild) from its own loopback server. */
async function startBareServer(): Promise<{ url: string; close: () => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-bare-'));
  await build({
    entryPoints: [path.join(BARE_SRC, 'bare.ts')],
    outfile: path.join(dir, 'bare.js'),
    bundle: true,
    minify: true,
    format: 'iife',
    logLevel: 'warning',
  });
  fs.copyFileSync(path.join(BARE_SRC, 'bare.html'), path.join(dir, 'bare.html'));
  const types: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript' };
  const server = http.createServer((req, res) => {
    const file = path.join(dir, path.basename(new URL(req.url ?? '/', 'http://x').pathname));
    if (!fs.existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/bare.html`,
    close: () => {
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Opens url in a fresh context and returns the page's step marks once the first remote frame is decoded. */
async function timeJoin(browser: Browser, url: string): Promise<Record<string, number>> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(url);
    await waitFor(
      'first remote frame',
      () => page.evaluate(() => performance.getEntriesByName('hoinghi:first-remote-frame').length > 0),
      { timeoutMs: 20_000, intervalMs: 20 },
    );
    const marks = await page.evaluate(
      (steps) => {
        const out: Record<string, number> = {};
        for (const s of steps) {
          const e = performance.getEntriesByName(`hoinghi:${s}`)[0];
          if (e) out[s] = e.startTime;
        }
        return out;
      },
      [...STEPS],
    );
    const decoded = await page.evaluate(() =>
      Array.from(document.querySelectorAll('video')).some(
        (v) => (v.getVideoPlaybackQuality?.().totalVideoFrames ?? 0) > 0 || v.readyState >= 2,
      ),
    );
    if (!decoded) throw new Error('the page marked a frame but no video element has one');
    return marks;
  } finally {
    await context.close();
  }
}

export async function benchJoin(runs: number): Promise<Record<string, unknown>> {
  const server = await startTestServer();
  const browser = await launchBrowser();
  try {
    await openPage(browser, `${server.url}/chair#t=${server.token('chair')}`);
    const siteUrl = `${server.url}/site?auto=1#t=${server.token('ha-noi')}`;
    const bare = await startBareServer();
    const bareUrl = `${bare.url}#server=${encodeURIComponent(server.url)}&t=${server.token('thua-thien-hue')}`;
    const samples: Record<string, number>[] = [];
    const bareTotals: number[] = [];
    const bareSamples: Record<string, number>[] = [];
    try {
      // Run 0 warms up (first JIT, first keyframe request) and is not counted. The site page
      // and the bare page alternate, so both see the same machine load.
      for (let i = 0; i <= runs; i++) {
        const marks = await timeJoin(browser, siteUrl);
        const bareMarks = await timeJoin(browser, bareUrl);
        const t = marks['first-remote-frame'] as number;
        const b = bareMarks['first-remote-frame'] as number;
        if (i > 0) {
          samples.push(marks);
          bareSamples.push(bareMarks);
          bareTotals.push(b);
        }
        process.stdout.write(
          `  run ${i}${i === 0 ? ' (warm-up)' : ''}: site ${round(t)} ms, bare ${round(b)} ms\n`,
        );
      }
    } finally {
      bare.close();
    }
    const totals = samples.map((s) => s['first-remote-frame'] as number);
    const med = median(totals);
    const breakdown: Record<string, number> = {};
    const bareBreakdown: Record<string, number> = {};
    for (const step of STEPS) {
      const values = samples.map((s) => s[step]).filter((v): v is number => v !== undefined);
      if (values.length) breakdown[step] = round(median(values));
      const bareValues = bareSamples.map((s) => s[step]).filter((v): v is number => v !== undefined);
      if (bareValues.length) bareBreakdown[step] = round(median(bareValues));
    }
    return {
      benchmark: 'join',
      description: 'time from opening a site page (navigation start) to its first decoded remote video frame',
      runs: totals.length,
      median_ms: round(med),
      p90_ms: round(percentile(totals, 90)),
      min_ms: round(Math.min(...totals)),
      max_ms: round(Math.max(...totals)),
      samples_ms: totals.map((x) => round(x)),
      median_ms_since_navigation_by_step: breakdown,
      bare_page: {
        description:
          'bench/bare: receive-only mediasoup-client + socket.io-client page, same server, measured alternately',
        median_ms: round(median(bareTotals)),
        median_ms_since_navigation_by_step: bareBreakdown,
        p90_ms: round(percentile(bareTotals, 90)),
        samples_ms: bareTotals.map((x) => round(x)),
      },
      // The issue's criterion: the site page's median ÷ the bare page's median, in the same run.
      ratio_to_bare: round(med / median(bareTotals), 2),
      reference_bare_page_ms_from_issue: REFERENCE_BARE_MS,
      ratio_to_issue_reference: round(med / REFERENCE_BARE_MS, 2),
      machine: machine(CHROMIUM),
      date: new Date().toISOString(),
    };
  } finally {
    await browser.close();
    await server.stop();
  }
}
