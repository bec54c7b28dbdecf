/**
 * The programme recorder page (/recorder) in headless Chromium against the real server: the chair
 * and a hall join with fake cameras and microphones, the hall takes the floor, and the recorder
 * page (role `recorder`) composes the programme into its canvas and hands WebM pieces to the
 * egress functions the server exposes. The hall's camera is a file (a magenta picture with a
 * moving white box) in a browser of its own, so the canvas can be seen to show the speaker large
 * and the chair (Chromium's own green test pattern) in the corner.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { EgressStatus } from '../../client/src/recorder/contract';
import { launchBrowser, openPage, pageCommand, screenshot } from '../helpers/browser';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { makePdf } from '../helpers/pdf';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(90_000);

const HALL = 'ha-noi';
const HALL_COLOUR = [0xb0, 0x20, 0x7a] as const;

let server: TestServer;
let browser: Browser;
let hallBrowser: Browser;
let chair: Page;
let hall: Page;
let recorder: Page;
let tmp: string;
const pieces: Buffer[] = [];
const statuses: EgressStatus[] = [];

/** The hall's camera: 2 s of magenta with a white box crossing it (Chromium plays it in a loop). */
function hallCameraFile(dir: string): string {
  const file = path.join(dir, 'hall.y4m');
  const picture = `color=c=0x${HALL_COLOUR.map((c) => c.toString(16).padStart(2, '0')).join('')}:s=640x360:r=20`;
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-filter_complex',
    `${picture}[bg];color=c=white:s=80x80:r=20[box];[bg][box]overlay=x='mod(t*300,560)':y=140:shortest=1,format=yuv420p`,
    '-t',
    '2',
    '-y',
    file,
  ]);
  return file;
}

interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The mean colour of a region of the recorder's canvas. */
function meanColour(page: Page, r: Region): Promise<[number, number, number]> {
  return page.evaluate((r) => {
    const canvas = document.getElementById('programme') as HTMLCanvasElement;
    const data = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(r.x, r.y, r.w, r.h).data;
    let [red, green, blue] = [0, 0, 0];
    for (let i = 0; i < data.length; i += 4) {
      red += data[i] as number;
      green += data[i + 1] as number;
      blue += data[i + 2] as number;
    }
    const n = data.length / 4;
    return [red / n, green / n, blue / n] as [number, number, number];
  }, r);
}

/** How much a region changed since the last call (mean absolute difference per channel, 0…255). */
function motion(page: Page, r: Region): Promise<number> {
  return page.evaluate((r) => {
    const canvas = document.getElementById('programme') as HTMLCanvasElement;
    const data = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(r.x, r.y, r.w, r.h).data;
    const w = window as unknown as { previous?: Uint8ClampedArray };
    const before = w.previous;
    w.previous = data;
    if (!before) return 0;
    let diff = 0;
    for (let i = 0; i < data.length; i++) diff += Math.abs((data[i] as number) - (before[i] as number));
    return diff / data.length;
  }, r);
}

const figures = () =>
  recorder.evaluate(() => {
    const r = window.hoinghiRecorder;
    return r
      ? {
          ready: r.ready,
          chunks: r.chunks,
          bytes: r.bytes,
          frames: r.frames,
          lastError: r.lastError,
          at: Date.now(),
        }
      : null;
  });

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-recorder-'));
  server = await startTestServer();
  browser = await launchBrowser();
  hallBrowser = await launchBrowser({ videoFile: hallCameraFile(tmp) });
  ({ page: chair } = await openPage(browser, `${server.url}/chair#t=${server.token('chair')}`));
  ({ page: hall } = await openPage(hallBrowser, `${server.url}/site?auto=1#t=${server.token(HALL)}`));
  await pageCommand(chair, 'conference:open');
  await pageCommand(chair, 'conference:start');
  await pageCommand(hall, 'floor:request', { title: 'Báo cáo tình hình' });
  await pageCommand(chair, 'floor:next');

  // The recorder: its egress functions exposed before the page loads, as the server does.
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  recorder = await context.newPage();
  await recorder.exposeFunction('hoinghiEgress_chunk', (b64: string) => {
    pieces.push(Buffer.from(b64, 'base64'));
  });
  await recorder.exposeFunction('hoinghiEgress_status', (s: EgressStatus) => {
    statuses.push(s);
  });
  const token = server.token('recorder', { role: 'recorder' });
  await recorder.goto(`${server.url}/recorder#t=${token}`);
});

afterAll(async () => {
  await browser?.close();
  await hallBrowser?.close();
  await server?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the programme recorder page', () => {
  it('joins, says it is recording, and hands over WebM pieces that grow', async () => {
    await waitFor('the recorder ready', async () => (await figures())?.ready, {
      timeoutMs: 20_000,
      missing: figures,
    });
    expect(statuses).toContainEqual({ state: 'recording' });
    const first = await waitFor(
      'two pieces handed over',
      async () => {
        const f = await figures();
        return f && f.chunks >= 2 && pieces.length >= 2 ? f : undefined;
      },
      { missing: figures },
    );
    const later = await waitFor(
      'more pieces, tens of KB more',
      async () => {
        const f = await figures();
        return f && f.chunks >= first.chunks + 3 && f.bytes >= first.bytes + 50_000 ? f : undefined;
      },
      { timeoutMs: 15_000, missing: figures },
    );
    expect(pieces.length).toBeGreaterThanOrEqual(later.chunks - 1);
    // The pieces begin a WebM (EBML header).
    expect(pieces[0]?.subarray(0, 4).toString('hex')).toBe('1a45dfa3');
    // Drawn on the worker's clock at 25 a second: at least 10 even on a busy machine.
    expect(((later.frames - first.frames) * 1000) / (later.at - first.at)).toBeGreaterThan(10);
  });

  it('draws the speaker large (the hall, moving) and the chair in the corner', async () => {
    // The large tile, away from its caption and from the chair's picture in the bottom right.
    const speaker = { x: 40, y: 80, w: 760, h: 360 };
    const corner = { x: 900, y: 500, w: 340, h: 150 };
    const [r, g, b] = await waitFor(
      'the hall (magenta) filling the large tile',
      async () => {
        const c = await meanColour(recorder, speaker);
        return c[0] > c[1] + 60 && c[2] > c[1] + 30 ? c : undefined;
      },
      { timeoutMs: 20_000, missing: () => meanColour(recorder, speaker) },
    );
    expect(r).toBeGreaterThan(100);
    expect(b).toBeGreaterThan(60);
    expect(g).toBeLessThan(100);
    await screenshot(recorder, 'recorder-programme');
    // The white box crosses the hall's picture: two looks at the canvas differ.
    await motion(recorder, speaker);
    await waitFor('the speaker moving on the canvas', async () => (await motion(recorder, speaker)) > 2, {
      intervalMs: 300,
      missing: async () => [await motion(recorder, speaker), await figures()],
    });
    // The chair's picture in the corner: not the hall's, not black.
    const chairColour = await waitFor(
      "the chair's picture in the corner",
      async () => {
        const c = await meanColour(recorder, corner);
        return c[0] + c[1] + c[2] > 90 && !(c[0] > c[1] + 60 && c[2] > c[1] + 30) ? c : undefined;
      },
      { missing: () => meanColour(recorder, corner) },
    );
    expect(chairColour[1]).toBeGreaterThan(chairColour[0]);
    await screenshot(recorder, 'recorder-programme');
  });

  it('mixes the sound it receives (the chair and the hall) into the recording', async () => {
    await waitFor(
      'sound in the mix',
      async () => recorder.evaluate(() => (window.hoinghiRecorder?.audioPeak() ?? 0) > 0.01),
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    // No media element of the page plays it out loud.
    const audible = await recorder.evaluate(
      () =>
        Array.from(document.querySelectorAll<HTMLMediaElement>('audio, video')).filter((m) => !m.muted)
          .length,
    );
    expect(audible).toBe(0);
  });

  it('a deck page shown: drawn large, the speaker and the chair in the corner', async () => {
    const auth = { authorization: `Bearer ${server.token('chair')}` };
    const res = await fetch(`${server.url}/api/decks?title=Trang`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/pdf' },
      body: new Uint8Array(makePdf(['Trang 1'])),
    });
    const { id } = (await res.json()) as { id: string };
    await waitFor('the deck converted', async () => {
      const job = (await (await fetch(`${server.url}/api/decks/${id}`, { headers: auth })).json()) as {
        status: string;
      };
      return job.status === 'ready';
    });
    await pageCommand(chair, 'layout:set', { layout: 'speaker_presentation' });
    await pageCommand(chair, 'slide:show', { deckId: id });
    // The page (white) fills the picture; the speaker at the bottom right, the chair above it.
    const page = { x: 300, y: 100, w: 500, h: 300 };
    const speaker = { x: 900, y: 500, w: 340, h: 150 };
    const chairTile = { x: 900, y: 270, w: 340, h: 150 };
    await waitFor(
      'the deck page, white, large',
      async () => (await meanColour(recorder, page)).every((c) => c > 230),
      {
        missing: () => meanColour(recorder, page),
      },
    );
    const [r, g, b] = await meanColour(recorder, speaker);
    expect(r > g + 60 && b > g + 30).toBe(true);
    const c = await meanColour(recorder, chairTile);
    expect(c[1]).toBeGreaterThan(c[0]);
    await screenshot(recorder, 'recorder-deck');
  });

  it('stops cleanly: the last piece is handed over, and the file has VP8 video and Opus sound', async () => {
    await recorder.evaluate(() => window.hoinghiRecorder?.stop());
    const f = await figures();
    expect(f?.chunks).toBe(pieces.length);
    expect(f?.lastError).toBeNull();
    expect(statuses.filter((s) => s.state === 'error')).toEqual([]);
    const file = path.join(tmp, 'programme.webm');
    fs.writeFileSync(file, Buffer.concat(pieces));
    const probe = JSON.parse(
      execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file], {
        encoding: 'utf8',
      }),
    ) as { streams: { codec_type: string; codec_name: string; width?: number; height?: number }[] };
    const video = probe.streams.find((s) => s.codec_type === 'video');
    const audio = probe.streams.find((s) => s.codec_type === 'audio');
    expect(video).toMatchObject({ codec_name: 'vp8', width: 1280, height: 720 });
    expect(audio).toMatchObject({ codec_name: 'opus' });
    // Decoded end to end: the sound in the file is not silence.
    const detect = spawnSync(
      'ffmpeg',
      ['-hide_banner', '-i', file, '-map', '0:a', '-af', 'volumedetect', '-f', 'null', '-'],
      { encoding: 'utf8' },
    );
    const max = Number(/max_volume: (-?[\d.]+) dB/.exec(detect.stderr)?.[1] ?? -Infinity);
    expect(max).toBeGreaterThan(-40);
  });
});
