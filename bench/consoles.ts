/**
 * npm run bench -- consoles [--sites N] [--pushes P]
 *
 * The consoles at 63 halls. A server process, N synthetic halls with real media (the load
 * benchmark's generator: ICE, DTLS, SRTP, VP8 simulcast + Opus) and three real Chromium pages at
 * 1920×1080: the chair's panel, the operator's table and the wall. P state pushes, each changing
 * one hall (a hall requests the floor, the chair rejects it), are timed in every page from the
 * push's arrival to the frame after the page patched itself (client/src/lib/store.ts, PaintProbe).
 * Also: the bundle size of each page (minified, and gzip), and screenshots of the three pages
 * with the halls in a conference (docs/images/, used by the README).
 * Writes bench/results/consoles.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { loadRoster } from '../server/src/app';
import { launchBrowser, openPage, pageCommand } from '../tests/helpers/browser';
import { type ServerProcess, processToken, startServerProcess } from '../tests/helpers/serverProcess';
import { waitFor } from '../tests/helpers/waitFor';
import type { GeneratorReport } from './loadgen/generator';
import { Generator, arg, lowerPriority } from './load';
import { machine } from './machine';
import { median, percentile, round } from './stats';

const ROOT = path.join(__dirname, '..', '..');
const HD = { width: 1920, height: 1080 };

type Hoinghi = {
  hoinghi: {
    client: { state: string };
    store: {
      probe: { samples: number[]; patch: number[] };
      state?: { queue: { id: string; siteCode: string }[] };
      status(code: string): string;
    };
  };
};

const samples = (page: Page) =>
  page.evaluate(() => (window as unknown as Hoinghi).hoinghi.store?.probe.samples.slice() ?? []);
const patches = (page: Page) =>
  page.evaluate(() => (window as unknown as Hoinghi).hoinghi.store?.probe.patch.slice() ?? []);

/**
 * Times `pushes` pushes made by `push(i)` (each resolves once the server accepted it): in each
 * page, push → paint and the views' script time, p50/p90/max.
 */
async function timePushes(
  pages: Record<string, Page>,
  pushes: number,
  push: (i: number) => Promise<void>,
): Promise<Record<string, unknown>> {
  const before = Object.fromEntries(
    await Promise.all(Object.entries(pages).map(async ([k, p]) => [k, (await samples(p)).length] as const)),
  );
  for (let i = 0; i < pushes; i += 1) {
    await push(i);
    // The next push once every page has painted this one (no overlap between two measurements).
    await waitFor('every page to paint the push', async () => {
      for (const [k, p] of Object.entries(pages))
        if ((await samples(p)).length < (before[k] ?? 0) + i + 1) return false;
      return true;
    });
  }
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(pages)) {
    const s = (await samples(p)).slice(before[k] ?? 0);
    const js = (await patches(p)).slice(before[k] ?? 0);
    out[k] = {
      n: s.length,
      p50_ms: round(median(s)),
      p90_ms: round(percentile(s, 90)),
      max_ms: round(Math.max(...s)),
      patch_p50_ms: round(median(js), 2),
      patch_p90_ms: round(percentile(js, 90), 2),
    };
  }
  return out;
}

/** Resolves once no page has had a state push for 2 s (30 s at most). */
async function settled(pages: Record<string, Page>): Promise<void> {
  const count = async () =>
    (await Promise.all(Object.values(pages).map(async (p) => (await samples(p)).length))).join(',');
  let last = await count();
  let since = Date.now();
  await waitFor(
    'the pages to have no push for 2 s',
    async () => {
      const now = await count();
      if (now !== last) [last, since] = [now, Date.now()];
      return Date.now() - since >= 2000 || undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
}

/** Bytes of each console's script, minified as served and gzip-compressed. */
function bundles(): Record<string, { bytes: number; gzip_bytes: number }> {
  const dir = path.join(ROOT, 'dist', 'client');
  const out: Record<string, { bytes: number; gzip_bytes: number }> = {};
  for (const name of ['chair', 'operator', 'wall', 'site', 'index']) {
    const buf = fs.readFileSync(path.join(dir, `${name}.js`));
    out[name] = { bytes: buf.length, gzip_bytes: zlib.gzipSync(buf, { level: 9 }).length };
  }
  const css = fs.readFileSync(path.join(dir, 'styles.css'));
  out['styles.css'] = { bytes: css.length, gzip_bytes: zlib.gzipSync(css, { level: 9 }).length };
  return out;
}

export async function benchConsoles(): Promise<Record<string, unknown>> {
  const nSites = arg('sites', 60);
  const pushes = arg('pushes', 60);
  const halls = loadRoster('vn-2021').sites.filter((s) => s.kind !== 'central');
  if (nSites > halls.length) throw new Error(`the roster has ${halls.length} halls`);
  // Spread over the roster, so that the halls not connected are scattered as on a real morning.
  const step = halls.length / nSites;
  const joining = Array.from({ length: nSites }, (_, i) => halls[Math.floor(i * step)] as (typeof halls)[0]);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-bench-consoles-'));
  let server: ServerProcess | undefined;
  let browser: Browser | undefined;
  const generator = new Generator();
  try {
    server = await startServerProcess(dir, { HOINGHI_WORKERS: '0' });
    const url = server.url;
    browser = await launchBrowser();
    const chair = (await openPage(browser, `${url}/chair?q=low#t=${processToken('chair')}`, HD)).page;
    const operator = (await openPage(browser, `${url}/operator#t=${processToken('operator')}`, HD)).page;
    const wall = (await openPage(browser, `${url}/wall#t=${processToken('wall')}`, HD)).page;
    const pages = { chair, operator, wall };
    for (const page of Object.values(pages))
      await waitFor('a console to join', () =>
        page
          .evaluate(() => (window as unknown as Hoinghi).hoinghi?.client.state === 'connected')
          .catch(() => false),
      );
    await pageCommand(chair, 'conference:open');
    await pageCommand(chair, 'conference:start');

    // The halls, below the pages' priority: what is timed is the pages.
    if (generator.child.pid) lowerPriority(generator.child.pid, 10);
    const added = await generator.ask<Extract<GeneratorReport, { type: 'added' }>>({
      type: 'add',
      url,
      sites: joining.map((s) => ({ code: s.code, token: processToken(s.code) })),
    });
    if (added.failed.length) throw new Error(`halls failed to join: ${JSON.stringify(added.failed)}`);
    await waitFor(
      'the chair to see every hall ready',
      () =>
        chair.evaluate(
          (codes) => codes.every((c) => (window as unknown as Hoinghi).hoinghi.store.status(c) === 'ready'),
          joining.map((s) => s.code),
        ),
      { timeoutMs: 120_000 },
    );

    // P pushes, each changing one hall: a request (the hall's), then the chair's refusal.
    let pending = '';
    const underLoad = await timePushes(pages, pushes, async (i) => {
      const hall = joining[Math.floor(i / 2) % joining.length] as (typeof joining)[0];
      if (i % 2 === 0) {
        const r = await generator.ask<Extract<GeneratorReport, { type: 'requested' }>>({
          type: 'request',
          code: hall.code,
          title: `Tham luận ${i + 1}`,
        });
        if (!r.ok) throw new Error(`request refused: ${r.error ?? ''}`);
        pending = hall.code;
        return;
      }
      const id = await waitFor("the request in the chair's queue", () =>
        chair.evaluate(
          (code) =>
            (window as unknown as Hoinghi).hoinghi.store.state?.queue.find((q) => q.siteCode === code)?.id,
          pending,
        ),
      );
      await pageCommand(chair, 'floor:reject', { requestId: id });
    });

    // A conference in progress, for the screenshots: three halls waiting, one on air, roll call.
    const ask = (i: number, title: string) =>
      generator.ask({ type: 'request', code: (joining[i] as (typeof joining)[0]).code, title });
    await ask(7, 'Báo cáo kết quả phòng, chống dịch');
    await ask(20, 'Tham luận: chuyển đổi số');
    await ask(33, 'Kiến nghị về vắc-xin');
    await ask(41, 'Ý kiến về nguồn lực y tế');
    await pageCommand(chair, 'floor:next');
    for (const [i, s] of joining.entries())
      if (i % 9 !== 4) await pageCommand(operator, 'rollcall:mark', { siteCode: s.code, status: 'present' });
    for (const s of halls.filter((h) => !joining.includes(h)))
      await pageCommand(operator, 'rollcall:mark', { siteCode: s.code, status: 'absent' });
    await waitFor(
      'the wall to show every connected hall live',
      () =>
        wall.evaluate(
          (n) => document.querySelectorAll('#mosaic [data-signal="live"]').length >= n,
          joining.length + 1,
        ),
      { timeoutMs: 60_000 },
    );
    await waitFor(
      "the chair's panel to show the hall on air and those waiting",
      () =>
        chair.evaluate(() =>
          Array.from(document.querySelectorAll<HTMLVideoElement>('#onair-video, #queue video')).every(
            (v) => v.videoWidth > 0,
          ),
        ),
      { timeoutMs: 60_000 },
    );
    const images = path.join(ROOT, 'docs', 'images');
    fs.mkdirSync(images, { recursive: true });
    await chair.screenshot({ path: path.join(images, 'chair-63.png') });
    // JPEG: 64 moving pictures make a PNG of over a megabyte.
    await wall.screenshot({ path: path.join(images, 'wall-63.jpg'), type: 'jpeg', quality: 80 });
    await operator.screenshot({ path: path.join(images, 'operator-63.png') });
    await chair.setViewportSize({ width: 1366, height: 768 });
    await chair.screenshot({ path: path.join(images, 'chair-63-1366.png') });

    // The same pages with the halls gone (nothing decoding, the machine quiet): the roll call
    // of one hall after another, marked by the operator.
    await pageCommand(chair, 'floor:revoke');
    await generator.ask({ type: 'leave' });
    await waitFor('the chair to see every hall gone', () =>
      chair.evaluate(
        (codes) => codes.every((c) => (window as unknown as Hoinghi).hoinghi.store.status(c) === 'offline'),
        joining.map((s) => s.code),
      ),
    );
    await chair.setViewportSize(HD);
    // The departures' own pushes (and the pages' work on them) first come to an end: timed
    // while they still arrived, the operator's samples mixed in its reaction to 60 halls going.
    await settled(pages);
    const quiet = await timePushes(pages, pushes, (i) =>
      pageCommand(operator, 'rollcall:mark', {
        siteCode: (halls[i % halls.length] as (typeof halls)[0]).code,
        status: i % 2 === 0 ? 'absent' : 'present',
      }),
    );

    return {
      when: new Date().toISOString(),
      machine: machine(),
      halls_connected: nSites,
      halls_in_roster: halls.length,
      pushes,
      push_to_paint: { under_load: underLoad, quiet },
      bundles: bundles(),
      note: 'Each push changes one hall (a floor request, then its refusal). Timed in the page from the push to the frame after the patch. The halls (real media) and the server ran on the same 2 cores; the halls at nice 10.',
    };
  } finally {
    generator.stop();
    await browser?.close();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
