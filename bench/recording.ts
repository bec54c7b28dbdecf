/**
 * What recording costs on this machine, from CPU time read in /proc over fixed windows:
 *
 * - a statement: the ffmpeg writing it (stream copy) and the mediasoup worker's extra work for
 *   the tap (the worker's CPU while a statement is on air, recorded and not);
 * - the programme composite: the headless Chromium rendering and encoding it (all its processes)
 *   and the ffmpeg writing its file;
 * - the stream to a broadcaster: the ffmpeg encoding the composite to H.264 + AAC (here sent over
 *   SRT to a local ffmpeg listener, which is not counted).
 *
 * A chair and one hall publish from Chromium at low quality (their CPU is not counted).
 * Figures are % of one core, medians over the windows.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Page } from 'playwright-core';
import { cpuMs } from '../server/src/recording/ffmpeg';
import { launchBrowser, openPage, pageCommand } from '../tests/helpers/browser';
import { FFMPEG } from '../tests/helpers/media-files';
import { type TestServer, startTestServer } from '../tests/helpers/testServer';
import { waitFor } from '../tests/helpers/waitFor';
import { machine } from './machine';
import { median, round } from './stats';

const HALL = 'da-nang';
const WINDOW_MS = 10_000;

/** % of one core used by `read()` (cumulative CPU ms) over one window. */
async function cpuPercent(read: () => number): Promise<number> {
  const a = read();
  const t = Date.now();
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  return ((read() - a) / (Date.now() - t)) * 100;
}

async function windows(n: number, read: () => number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await cpuPercent(read));
  return out;
}

async function conference(server: TestServer): Promise<{ close(): Promise<void>; chair: Page }> {
  const browser = await launchBrowser();
  const { page: chair } = await openPage(browser, `${server.url}/chair?q=low#t=${server.token('chair')}`);
  const { page: hall } = await openPage(browser, `${server.url}/site?q=low&auto=1#t=${server.token(HALL)}`);
  await pageCommand(chair, 'conference:open');
  await pageCommand(chair, 'conference:start');
  await waitFor(
    'the hall publishing',
    () => server.app.media().siteMedia(HALL).camera && server.app.media().siteMedia(HALL).microphone,
  );
  await pageCommand(hall, 'floor:request', { title: 'Đo chi phí ghi hình' });
  const requestId = await waitFor('the request', () => server.app.service.state.queue[0]?.id);
  await pageCommand(chair, 'floor:grant', { requestId, allottedSec: 3600 });
  return { chair, close: () => browser.close() };
}

const workerCpu = (server: TestServer) => () =>
  server.app.pool.entries().reduce((a, e) => a + (cpuMs(e.worker.pid) ?? 0), 0);

export async function benchRecording(runs: number): Promise<Record<string, unknown>> {
  const n = Math.max(3, runs);
  // 1. Statements: the worker with and without the tap, and the statement's ffmpeg.
  let statement: Record<string, unknown>;
  {
    const plain = await startTestServer({ recording: { statements: false } });
    const c = await conference(plain);
    const workerNoTap = await windows(n, workerCpu(plain));
    await c.close();
    await plain.stop();
    const server = await startTestServer({ recording: { statements: true } });
    const d = await conference(server);
    const pid = await waitFor('the statement recorder', () => server.app.statements?.ffmpegPid);
    const ffmpeg = await windows(n, () => cpuMs(pid) ?? 0);
    const workerTap = await windows(n, workerCpu(server));
    await d.close();
    await server.stop();
    statement = {
      ffmpeg_pct_p50: round(median(ffmpeg)),
      worker_pct_p50_recorded: round(median(workerTap)),
      worker_pct_p50_not_recorded: round(median(workerNoTap)),
      windows: {
        ffmpeg: ffmpeg.map((x) => round(x)),
        workerTap: workerTap.map((x) => round(x)),
        workerNoTap: workerNoTap.map((x) => round(x)),
      },
    };
  }
  // 2. + 3. The programme composite, recorded and streamed over SRT to a local listener.
  let programme: Record<string, unknown>;
  {
    const port = 9000 + Math.floor(Math.random() * 500);
    const listener: ChildProcess = spawn(
      FFMPEG,
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-i',
        `srt://127.0.0.1:${port}?mode=listener`,
        '-c',
        'copy',
        '-f',
        'null',
        '-',
      ],
      { stdio: 'ignore' },
    );
    const server = await startTestServer({ recording: { streamUrl: `srt://127.0.0.1:${port}?mode=caller` } });
    const c = await conference(server);
    await pageCommand(c.chair, 'recording:start');
    await waitFor(
      'the composite recording',
      () => (server.app.recordings.status().programme?.bytes ?? 0) > 100_000,
      {
        timeoutMs: 30_000,
      },
    );
    const rec = server.app.programme;
    if (!rec) throw new Error('no programme recorder');
    const [filePid, streamPid] = rec.ffmpegPids;
    const chromium = await windows(n, () => rec.cpuMs().chromium);
    const file = await windows(n, () => cpuMs(filePid) ?? 0);
    const stream = await windows(n, () => cpuMs(streamPid) ?? 0);
    const streamState = server.app.recordings.status().programme?.stream;
    await pageCommand(c.chair, 'recording:stop');
    await waitFor(
      'the file saved',
      () => server.app.service.minutes().some((m) => m.type === 'recording.saved'),
      {
        timeoutMs: 30_000,
      },
    );
    await c.close();
    await server.stop();
    // It ends by itself when the stream closes; otherwise it is stopped here.
    if (listener.exitCode === null && listener.signalCode === null && listener.pid)
      process.kill(listener.pid, 'SIGKILL');
    programme = {
      composite_chromium_pct_p50: round(median(chromium)),
      file_ffmpeg_pct_p50: round(median(file)),
      stream_ffmpeg_pct_p50: round(median(stream)),
      stream_state: streamState,
      windows: {
        chromium: chromium.map((x) => round(x)),
        file: file.map((x) => round(x)),
        stream: stream.map((x) => round(x)),
      },
    };
  }
  return {
    benchmark: 'recording',
    unit: '% of one core (100 = one core busy), medians of 10 s windows',
    windows_per_figure: n,
    statement,
    programme,
    note: 'a chair and one hall publish from Chromium at low quality meanwhile (not counted); 1280×720 composite at 25 fps, stream H.264 veryfast 2500 kbit/s + AAC 128 kbit/s',
    machine: machine(),
  };
}
