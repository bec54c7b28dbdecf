/**
 * Recording on the consoles, without a browser: elapsed times and sizes in words, which minutes
 * lines offer a download, the operator's recording alerts, the download-address call, and the
 * words for every minutes line and recording state in Vietnamese and English.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { MinuteEntry, MinuteType } from '../../protocol/conference';
import type { RecordingProblem } from '../../protocol/recording';
import en from '../../client/src/i18n/en.json';
import vi from '../../client/src/i18n/vi.json';
import { MINUTE_TYPES, minuteLabelKey, minuteLine } from '../../client/src/lib/minutes';
import {
  ProblemAlerts,
  RecordingHttpError,
  STALE_PROBLEM_MS,
  bytesText,
  downloadable,
  elapsedText,
  failedRecordings,
  fileDurationMs,
  linkErrorText,
  mergeMinutes,
  recordingFiles,
  recordingLink,
  recordingOf,
  spanText,
} from '../../client/src/lib/recording';

const entry = (
  seq: number,
  type: MinuteType,
  data: MinuteEntry['data'] = {},
  siteCode: string | null = null,
) => ({ seq, at: 1_000 * seq, type, actor: null, siteCode, data }) as MinuteEntry;

describe('times and sizes in words', () => {
  it('writes a span as m:ss under an hour and h:mm:ss from an hour on, never negative', () => {
    expect(spanText(0)).toBe('0:00');
    expect(spanText(7_900)).toBe('0:07');
    expect(spanText(12 * 60_000 + 3_000)).toBe('12:03');
    expect(spanText(3_600_000 + 2 * 60_000 + 3_000)).toBe('1:02:03');
    expect(spanText(-5_000)).toBe('0:00');
  });

  it('counts the elapsed time by the server clock it is given', () => {
    expect(elapsedText(100_000, 165_000)).toBe('1:05');
    // A local clock ahead of the server's start shows 0:00, not a minus.
    expect(elapsedText(100_000, 99_000)).toBe('0:00');
  });

  it('writes sizes in decimal units, one decimal below ten, in the locale', () => {
    expect(bytesText(850, 'en-GB')).toBe('850 B');
    expect(bytesText(3_400_000, 'en-GB')).toBe('3.4 MB');
    expect(bytesText(3_400_000, 'vi-VN')).toBe('3,4 MB');
    expect(bytesText(120_000_000_000, 'en-GB')).toBe('120 GB');
    expect(bytesText(2_000_000_000_000_000, 'en-GB')).toBe('2,000 TB');
    expect(bytesText(-1, 'en-GB')).toBe('—');
  });

  it("takes a file's length from the file, else from its start and end; downloads only finished, readable files", () => {
    expect(fileDurationMs({ durationMs: 61_000, startedAt: 0, endedAt: 70_000 })).toBe(61_000);
    expect(fileDurationMs({ durationMs: null, startedAt: 1_000, endedAt: 70_000 })).toBe(69_000);
    expect(fileDurationMs({ durationMs: null, startedAt: 1_000, endedAt: null })).toBeNull();
    expect(downloadable({ ok: true, endedAt: 5 })).toBe(true);
    expect(downloadable({ ok: true, endedAt: null })).toBe(false);
    expect(downloadable({ ok: false, endedAt: 5 })).toBe(false);
  });
});

describe('which minutes lines offer a download', () => {
  it('a statement that ended recorded, and a saved file; not a failure, nor a line without a recording', () => {
    expect(recordingOf(entry(1, 'floor.ended', { requestId: 'r1', recording: 'c1-ha-noi-1' }))).toBe(
      'c1-ha-noi-1',
    );
    expect(recordingOf(entry(2, 'recording.saved', { recording: 'c1-programme-2', kind: 'programme' }))).toBe(
      'c1-programme-2',
    );
    expect(recordingOf(entry(3, 'floor.ended', { requestId: 'r2' }))).toBeNull();
    expect(recordingOf(entry(4, 'floor.ended', { recording: '' }))).toBeNull();
    expect(recordingOf(entry(5, 'floor.ended', { recording: 42 }))).toBeNull();
    expect(recordingOf(entry(6, 'recording.failed', { recording: 'x', kind: 'statement' }))).toBeNull();
    expect(recordingOf(entry(7, 'recording.started'))).toBeNull();
  });

  it('no download on the lines of a recording that failed', () => {
    const lines = [
      entry(1, 'floor.ended', { recording: 'bad' }),
      entry(2, 'recording.failed', { recording: 'bad', kind: 'statement', message: 'ffmpeg exited' }),
      entry(3, 'floor.ended', { recording: 'good' }),
    ];
    const failed = failedRecordings(lines);
    expect([...failed]).toEqual(['bad']);
    expect(lines.map((l) => recordingOf(l, failed))).toEqual([null, null, 'good']);
  });

  it('merges fetched and pushed lines by number, each once, in order, keeping the last ones', () => {
    const held = [entry(3, 'site.joined'), entry(4, 'site.left')];
    const more = [entry(4, 'site.left'), entry(1, 'conference.opened'), entry(5, 'floor.requested')];
    expect(mergeMinutes(held, more, 10).map((e) => e.seq)).toEqual([1, 3, 4, 5]);
    expect(mergeMinutes(held, more, 2).map((e) => e.seq)).toEqual([4, 5]);
  });
});

describe('a minutes line in words', () => {
  const words = {
    t: (key: string, params: Record<string, string | number> = {}) =>
      `${key}${Object.keys(params).length ? JSON.stringify(params) : ''}`,
    siteName: (code: string) => (code === 'ha-noi' ? 'Hà Nội' : code),
    locale: 'en-GB',
  };

  it("labels every type, names the site, and says a statement's title and length", () => {
    expect(
      minuteLine(entry(1, 'floor.ended', { title: 'Tham luận', actualSec: 185 }, 'ha-noi'), words),
    ).toEqual({
      label: 'minute.floor.ended',
      site: 'Hà Nội',
      detail: 'Tham luận · 3:05',
    });
    expect(minuteLine(entry(2, 'conference.started'), words)).toEqual({
      label: 'minute.conference.started',
      site: '',
      detail: '',
    });
  });

  it('says what was saved, how long and how big; what failed and why', () => {
    expect(
      minuteLine(
        entry(3, 'recording.saved', {
          recording: 'x',
          kind: 'programme',
          durationSec: 3723.4,
          bytes: 1_250_000_000,
        }),
        words,
      ).detail,
    ).toBe('recording.kind.programme · 1:02:03 · 1.3 GB');
    expect(
      minuteLine(
        entry(4, 'recording.failed', { kind: 'statement', recording: 'y', message: 'disk full' }),
        words,
      ).detail,
    ).toBe('recording.kind.statement · disk full');
    expect(
      minuteLine(entry(5, 'recording.stopped', { reason: 'stopped', durationSec: 65 }), words).detail,
    ).toBe('1:05');
    expect(minuteLine(entry(6, 'rollcall.marked', { status: 'present' }, 'ha-noi'), words).detail).toBe(
      'rollcall.present',
    );
  });
});

describe("the operator's recording alerts", () => {
  const problem = (at: number, kind: RecordingProblem['kind'], message = 'm'): RecordingProblem => ({
    at,
    kind,
    subject: null,
    message,
  });

  it('the first status raises only recent problems; a problem seen again raises nothing', () => {
    const now = 100 * 60_000;
    const old = problem(now - STALE_PROBLEM_MS - 1, 'disk');
    const recent = problem(now - 60_000, 'recorder');
    const alerts = new ProblemAlerts();
    expect(alerts.observe([recent, old], now).map((a) => a.problem)).toEqual([recent]);
    expect(alerts.observe([recent, old], now + 1000)).toEqual([]);
    expect(alerts.list().map((a) => a.problem)).toEqual([recent]);
  });

  it('a new problem raises an alert, even an old-looking one after the first status; newest first', () => {
    const alerts = new ProblemAlerts();
    alerts.observe([], 1_000_000);
    const a = problem(5_000, 'ingest');
    const b = problem(900_000, 'stream');
    expect(alerts.observe([b, a], 1_000_000).length).toBe(2);
    expect(alerts.list().map((x) => x.problem.kind)).toEqual(['stream', 'ingest']);
  });

  it('stays until acknowledged, also once gone from the status; acknowledged, it does not come back', () => {
    const alerts = new ProblemAlerts();
    const p = problem(1_000, 'disk');
    alerts.observe([p], 2_000);
    alerts.observe([], 3_000);
    expect(alerts.list()).toHaveLength(1);
    const id = (alerts.list()[0] as { id: string }).id;
    alerts.ack(id);
    expect(alerts.list()).toEqual([]);
    alerts.observe([p], 4_000);
    expect(alerts.list()).toEqual([]);
    // The same kind again, later, with another message: a new problem.
    alerts.observe([problem(5_000, 'disk', 'again'), p], 6_000);
    expect(alerts.list()).toHaveLength(1);
    alerts.ackAll();
    expect(alerts.list()).toEqual([]);
  });
});

describe("a file's download address", () => {
  const answer = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

  it('POSTs with the credential, the id in the path, and returns the address', async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const link = await recordingLink('c1/ha noi', 'tok', {
      origin: 'https://hoinghi.example',
      fetchFn: async (url, init) => {
        calls.push({ url, init });
        return answer(200, { url: '/dl/abc', expiresAt: 123 });
      },
    });
    expect(link).toEqual({ url: '/dl/abc', expiresAt: 123 });
    expect(calls[0]?.url).toBe('https://hoinghi.example/api/recordings/c1%2Fha%20noi/link');
    expect(calls[0]?.init.method).toBe('POST');
    expect(calls[0]?.init.headers).toEqual({ Authorization: 'Bearer tok' });
  });

  it('says in words why it failed: unknown recording, no answer, refused, anything else', async () => {
    const known = (k: string) => k in vi;
    const fail = async (fetchFn: () => Promise<Response>) => {
      try {
        await recordingLink('x', 'tok', { origin: 'http://h', fetchFn });
      } catch (e) {
        return e;
      }
      throw new Error('no error');
    };
    const notFound = await fail(async () =>
      answer(404, { error: { code: 'NOT_FOUND', message: 'no such' } }),
    );
    expect(notFound).toBeInstanceOf(RecordingHttpError);
    expect(linkErrorText(notFound, known)).toEqual({ key: 'recording.linkNotFound', params: {} });
    const network = await fail(async () => {
      throw new Error('connection refused');
    });
    expect(linkErrorText(network, known)).toEqual({
      key: 'recording.linkNetwork',
      params: { message: 'connection refused' },
    });
    const refused = await fail(async () => answer(403, { error: { code: 'FORBIDDEN', message: 'no' } }));
    expect(linkErrorText(refused, known)).toEqual({ key: 'error.FORBIDDEN', params: { message: 'no' } });
    const odd = await fail(async () => answer(200, { nothing: true }));
    expect(linkErrorText(odd, known)).toEqual({
      key: 'error.generic',
      params: { code: 'BAD_ANSWER', message: 'no url in the answer' },
    });
    const broken = await fail(async () => new Response('oops', { status: 500, statusText: 'Internal' }));
    expect(linkErrorText(broken, known)).toEqual({
      key: 'error.generic',
      params: { code: 'HTTP_500', message: 'Internal' },
    });
  });

  it('lists the files with GET /api/recordings', async () => {
    const files = await recordingFiles('tok', {
      origin: 'http://h',
      fetchFn: async (url, init) => {
        expect(url).toBe('http://h/api/recordings');
        expect(init.method).toBe('GET');
        return answer(200, { files: [{ id: 'a' }] });
      },
    });
    expect(files).toEqual([{ id: 'a' }]);
  });
});

describe('words for recording, in Vietnamese and English', () => {
  const CLIENT = path.join(__dirname, '..', '..', 'client');
  const files = (dir: string, ext: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
      const p = path.join(dir, d.name);
      return d.isDirectory() ? files(p, ext) : p.endsWith(ext) ? [p] : [];
    });

  it('labels every type of minutes line', () => {
    expect(MINUTE_TYPES).toHaveLength(33);
    for (const type of MINUTE_TYPES) {
      expect(vi).toHaveProperty([minuteLabelKey(type)]);
      expect(en).toHaveProperty([minuteLabelKey(type)]);
    }
  });

  it('defines every recording and minutes key the pages use, and those built at run time', () => {
    const used = new Set<string>();
    const key = /['"`]((?:recording|minutes|minute)\.[A-Za-z_.]+[A-Za-z_])['"`]/g;
    for (const f of [
      ...files(path.join(CLIENT, 'src'), '.ts'),
      ...files(path.join(CLIENT, 'public'), '.html'),
    ])
      for (const m of fs.readFileSync(f, 'utf8').matchAll(key)) used.add(m[1] as string);
    // The protocol's own names of minutes lines (recording.saved …) are not keys.
    for (const type of MINUTE_TYPES) used.delete(type);
    for (const k of ['statement', 'programme']) used.add(`recording.kind.${k}`);
    for (const k of ['off', 'up', 'down']) used.add(`recording.stream.${k}`);
    for (const k of ['disk', 'recorder', 'stream', 'ingest']) used.add(`recording.problem.${k}`);
    expect(used.size).toBeGreaterThan(30);
    expect([...used].filter((k) => !(k in vi) || !(k in en))).toEqual([]);
    expect(vi['recording.badge']).toBe('ĐANG GHI');
    expect(vi['recording.start']).toBe('Bắt đầu ghi hình');
    expect(vi['recording.stop']).toBe('Dừng ghi hình');
    expect(vi['recording.download']).toBe('Tải bản ghi');
  });
});
