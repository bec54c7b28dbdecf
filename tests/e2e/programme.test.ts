/**
 * The programme composite, recorded: the chair or an operator starts it, every console's state
 * says it is recording, a headless Chromium renders the programme and ffmpeg writes it; a 60 s
 * recording is checked with ffprobe (VP8 video and Opus audio, duration within 1 s, no gap over
 * 500 ms) and linked from the minutes. A dead ffmpeg and a full disk are reported to the
 * operators and in the log, and the conference goes on.
 */
import type { Browser, Page } from 'playwright-core';
import type { ConferenceState, MinuteEntry } from '../../protocol/conference';
import type { RecordingStatus } from '../../protocol/recording';
import { inboundStats, launchBrowser, openPage, pageCommand } from '../helpers/browser';
import { type Participant, participant } from '../helpers/conferenceClient';
import { inspect } from '../helpers/media-files';
import { hallOnAir } from '../helpers/onAir';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(300_000);

const B = 'da-nang';

let server: TestServer;
let browser: Browser;
let chair: Page;
let hall: Page;
let operator: Participant;
const statuses: RecordingStatus[] = [];

const minutes = (): MinuteEntry[] => server.app.service.minutes();
const status = () => server.app.recordings.status();
const pageState = (page: Page) =>
  page.evaluate(
    () =>
      (window as unknown as { hoinghi: { client: { conference: ConferenceState } } }).hoinghi.client
        .conference,
  );

/** Waits until a new composite recording's first bytes are written; returns its id and start. */
const seen = new Set<string>();
const recordingBegun = () =>
  waitFor(
    'the composite recording',
    () => {
      const p = status().programme;
      if (!p || p.bytes <= 20_000 || seen.has(p.id)) return undefined;
      seen.add(p.id);
      return p;
    },
    { timeoutMs: 30_000, missing: () => ({ status: status(), minutes: minutes().slice(-5) }) },
  );

beforeAll(async () => {
  server = await startTestServer();
  browser = await launchBrowser();
  ({ chair, hall } = await hallOnAir(server, browser, B));
  operator = await participant(server, 'operator');
  operator.socket.on('recording:status', (s: RecordingStatus) => statuses.push(s));
});

afterAll(async () => {
  operator?.close();
  await browser?.close();
  await server?.stop();
});

describe('the programme composite recording', () => {
  it('is refused to a hall and to the wall, changing nothing', async () => {
    const h = await participant(server, 'can-tho');
    expect(await h.send('recording:start')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    h.close();
    const w = await participant(server, 'wall');
    expect(await w.send('recording:start')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    w.close();
    expect(server.app.service.state.recording ?? null).toBeNull();
    expect(await operator.send('recording:stop')).toMatchObject({
      ok: false,
      error: { code: 'WRONG_STATE' },
    });
  });

  it('records 60 s of the programme: VP8 + Opus, whole, shown on every console, linked from the minutes', async () => {
    await operator.must('recording:start');
    // "ĐANG GHI" on the consoles while it records.
    for (const page of [chair, hall]) await page.waitForSelector('#recording-badge', { state: 'visible' });
    expect(await hall.textContent('#recording-badge')).toContain('ĐANG GHI');
    const begun = await recordingBegun();
    const startLagMs = begun.since - (server.app.service.state.recording?.since ?? 0);
    await waitFor('60 s recorded', () => (Date.now() - begun.since >= 60_000 ? true : undefined), {
      timeoutMs: 75_000,
      intervalMs: 250,
    });
    const stoppedAt = Date.now();
    await operator.must('recording:stop');
    const saved = await waitFor(
      'the programme file saved',
      () => minutes().find((m) => m.type === 'recording.saved' && m.data.kind === 'programme'),
      { timeoutMs: 30_000 },
    );
    expect(saved.data.recording).toBe(begun.id);
    expect(minutes().some((m) => m.type === 'recording.started')).toBe(true);
    expect(minutes().some((m) => m.type === 'recording.stopped')).toBe(true);
    expect((await pageState(hall)).recording ?? null).toBeNull();
    await hall.waitForSelector('#recording-badge', { state: 'hidden' });
    const report = inspect(server.app.recordings.file(begun.id));
    const recordedSec = (stoppedAt - begun.since) / 1000;
    process.stdout.write(
      `programme: recorded ${recordedSec.toFixed(2)} s (start lag ${startLagMs} ms), file ${report.durationSec.toFixed(2)} s, ` +
        `${report.streams.map((s) => `${s.type}/${s.codec} ${report.packets[s.index]?.count} packets, gap ${report.packets[s.index]?.maxGap.toFixed(3)} s`).join('; ')}\n`,
    );
    expect(report.streams.map((s) => `${s.type}/${s.codec}`).sort()).toEqual(['audio/opus', 'video/vp8']);
    expect(Math.abs(report.durationSec - recordedSec)).toBeLessThanOrEqual(1);
    for (const s of report.streams) expect(report.packets[s.index]?.maxGap).toBeLessThanOrEqual(0.5);
    // The operator was told as it went: recording, then the file.
    expect(statuses.some((s) => s.programme?.id === begun.id)).toBe(true);
    expect(statuses.at(-1)?.files.some((f) => f.id === begun.id && f.ok)).toBe(true);
  });

  it('a dead ffmpeg is reported, the recording goes on in a new part, and so does the conference', async () => {
    await operator.must('recording:start');
    const first = await recordingBegun();
    const pid = server.app.programme?.ffmpegPids[0];
    expect(pid).toBeGreaterThan(0);
    process.kill(pid as number, 'SIGKILL');
    await waitFor('the problem reported to the operator', () =>
      statuses.some((s) =>
        s.problems.some((p) => p.kind === 'recorder' && p.message.includes('ffmpeg died')),
      ),
    );
    const next = await waitFor('a new part being written', () => {
      const p = status().programme;
      return p && p.id !== first.id ? p : undefined;
    });
    const bytes = status().programme?.bytes ?? 0;
    await waitFor('the new part growing', () => (status().programme?.bytes ?? 0) > bytes + 50_000);
    expect(server.app.service.state.recording).toBeTruthy();
    // The conference: still on air, the hall still hears the chair.
    expect(server.app.service.state.onAir?.siteCode).toBe(B);
    const heard =
      (await inboundStats(hall)).find((s) => s.role === 'chair' && s.kind === 'audio')?.bytesReceived ?? 0;
    await waitFor('the hall still hearing the chair', async () => {
      const now =
        (await inboundStats(hall)).find((s) => s.role === 'chair' && s.kind === 'audio')?.bytesReceived ?? 0;
      return now > heard;
    });
    await operator.must('recording:stop');
    await waitFor('the new part saved', () =>
      minutes().some((m) => m.type === 'recording.saved' && m.data.recording === next.id),
    );
  });

  it('a full disk stops the recording, is reported on the operator page and in the minutes; the conference goes on', async () => {
    // The operator's console, where the alert must show (it replaces the test's operator socket).
    operator.close();
    const { page: console } = await openPage(browser, `${server.url}/operator#t=${server.token('operator')}`);
    await waitFor('the operator page to join', () =>
      console.evaluate(() =>
        Boolean((window as unknown as { hoinghi?: { store?: { joined?: unknown } } }).hoinghi?.store?.joined),
      ),
    );
    await pageCommand(console, 'recording:start');
    await recordingBegun();
    server.app.recordings.freeBytesOverride = 0;
    try {
      await waitFor('the recording stopped for the disk', () => server.app.service.state.recording === null, {
        timeoutMs: 20_000,
      });
      expect(status().problems.some((p) => p.kind === 'disk')).toBe(true);
      expect(status().disk.ok).toBe(false);
      const failed = minutes().find((m) => m.type === 'recording.failed' && m.data.kind === 'programme');
      expect(String(failed?.data.message)).toContain('free');
      await console.waitForSelector('#recording-alert-list li.recording-alert[data-kind="disk"]', {
        state: 'attached',
      });
      await console.click('#tab-recording');
      await console.waitForSelector('#recording-disk[data-ok="false"]');
      // Starting again is refused by the disk, not by a crash; the conference still takes commands.
      await pageCommand(console, 'recording:start');
      await waitFor('refused again for the disk', () => server.app.service.state.recording === null);
      await pageCommand(chair, 'floor:extend', { seconds: 60 });
      expect(server.app.service.state.phase).toBe('in_session');
      expect(server.app.service.state.onAir?.siteCode).toBe(B);
    } finally {
      server.app.recordings.freeBytesOverride = null;
      await console.close();
    }
  });
});
