/**
 * RTP out for a hall's AV system, end to end with real parts: the chair and a hall on air in
 * Chromium; another hall (with its own credential) asks for the programme over RTP on 127.0.0.1
 * and is answered an SDP; ffmpeg, as the hall's receiver, opens that SDP and writes what arrives
 * to a file, which ffprobe finds to hold VP8 video and Opus audio. Refused requests change
 * nothing; a dead sender is reported and started again (joining the composite as it runs); a
 * recording started and stopped meanwhile, or stopped by a full disk, leaves the output alone;
 * DELETE stops it, and the composite with it.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { MinuteEntry } from '../../protocol/conference';
import type { RtpOutAnswer } from '../../server/src/http/rtpOutApi';
import { freePortPairs } from '../../server/src/recording/ffmpeg';
import { launchBrowser, pageCommand } from '../helpers/browser';
import { FFMPEG, FFPROBE, inspect } from '../helpers/media-files';
import { hallOnAir } from '../helpers/onAir';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(120_000);

const B = 'da-nang'; // the hall on air, with a browser
const O = 'can-tho'; // the hall whose AV system takes the programme over RTP

let server: TestServer;
let browser: Browser;
let chair: Page;
let receiver: ChildProcess | undefined;
let tmp: string;
let answer: RtpOutAnswer;

const programme = () => {
  const p = server.app.programme;
  if (!p) throw new Error('the test server makes no programme composite');
  return p;
};
const status = () => server.app.recordings.status();
const minutes = (): MinuteEntry[] => server.app.service.minutes();

async function api(method: string, url: string, token: string | null, body?: unknown): Promise<Response> {
  return fetch(`${server.url}${url}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

/** ffmpeg as the hall's receiver: opens the SDP, writes `seconds` of what arrives to `file`; its exit code. */
function receive(sdp: string, file: string, seconds: number): Promise<number | null> {
  const sdpFile = path.join(tmp, 'programme.sdp');
  fs.writeFileSync(sdpFile, sdp);
  const child = spawn(
    FFMPEG,
    [
      '-hide_banner',
      '-nostats',
      '-loglevel',
      'warning',
      '-protocol_whitelist',
      'file,udp,rtp',
      // The picture starts at the composite's next key frame, which may be seconds away.
      '-analyzeduration',
      '20000000',
      '-i',
      sdpFile,
      '-t',
      String(seconds),
      '-c',
      'copy',
      '-y',
      file,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  receiver = child;
  let said = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => (said = (said + d).slice(-2000)));
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      if (code) process.stderr.write(`receiver ended (${code}): ${said}\n`);
      resolve(code);
    }),
  );
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-rtp-out-'));
  server = await startTestServer();
  browser = await launchBrowser();
  ({ chair } = await hallOnAir(server, browser, B));
});

afterAll(async () => {
  if (receiver?.pid && receiver.exitCode === null && receiver.signalCode === null)
    process.kill(receiver.pid, 'SIGKILL');
  await browser?.close();
  await server?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('RTP out for a hall AV system', () => {
  it('refuses another hall, no credential, the wall, and bad addresses or ports, changing nothing', async () => {
    const good = { ip: '127.0.0.1', videoPort: 40_000, audioPort: 40_002 };
    expect((await api('POST', '/api/rtp-out', null, good)).status).toBe(401);
    expect((await api('POST', '/api/rtp-out', 'nope', good)).status).toBe(401);
    const other = await api('POST', '/api/rtp-out', server.token(B), { ...good, site: O });
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await api('POST', '/api/rtp-out', server.token('wall'), { ...good, site: O })).status).toBe(403);
    expect((await api('POST', '/api/rtp-out', server.token('operator'), good)).status).toBe(400);
    expect(
      (await api('POST', '/api/rtp-out', server.token('operator'), { ...good, site: 'trung-uong' })).status,
    ).toBe(404);
    for (const bad of [
      { ...good, videoPort: 40_001 },
      { ...good, audioPort: 80 },
      { ...good, videoPort: 65_536 },
      { ...good, videoPort: '40000' },
      { ...good, audioPort: 40_000 },
      { ...good, ip: '300.1.2.3' },
      { ...good, ip: '127.0.0.1 -f null' },
      { ...good, ip: '224.0.0.1' },
      { ...good, ip: '0.0.0.0' },
      { ...good, extra: true },
      { ip: '127.0.0.1', videoPort: 40_000 },
    ]) {
      const res = await api('POST', '/api/rtp-out', server.token(O), bad);
      expect([JSON.stringify(bad), res.status]).toEqual([JSON.stringify(bad), 400]);
      expect(await res.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    }
    const notJson = await fetch(`${server.url}/api/rtp-out`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token(O)}`, 'content-type': 'application/json' },
      body: '{"ip":',
    });
    expect(notJson.status).toBe(400);
    expect((await api('GET', '/api/rtp-out', server.token(O))).status).toBe(404);
    expect((await api('DELETE', `/api/rtp-out?site=${O}`, server.token('operator'))).status).toBe(404);
    expect(programme().outputs).toEqual([]);
    expect(status().outputs).toEqual([]);
    expect(programme().running).toBe(false);
    expect(programme().ffmpegPids).toEqual([]);
  });

  it('registers where the hall wants the programme, answers its SDP, and starts the composite for it', async () => {
    const [videoPort, audioPort] = (await freePortPairs(2)) as [number, number];
    const res = await api('POST', '/api/rtp-out', server.token(O), { ip: '127.0.0.1', videoPort, audioPort });
    expect(res.status).toBe(200);
    answer = (await res.json()) as RtpOutAnswer;
    expect(answer).toMatchObject({ siteCode: O, ip: '127.0.0.1', videoPort, audioPort });
    expect(answer.sdp).toContain('c=IN IP4 127.0.0.1');
    expect(answer.sdp).toContain(`m=video ${videoPort} RTP/AVP 96`);
    expect(answer.sdp).toContain('a=rtpmap:96 VP8/90000');
    expect(answer.sdp).toContain(`m=audio ${audioPort} RTP/AVP 111`);
    expect(answer.sdp).toContain('a=rtpmap:111 opus/48000/2');
    // The operator sees the same (naming the site).
    const seen = await api('GET', `/api/rtp-out?site=${O}`, server.token('operator'));
    expect(((await seen.json()) as RtpOutAnswer).sdp).toBe(answer.sdp);
    // The composite starts for it, and is not recorded (nobody asked for a recording).
    await waitFor('the RTP output sending', () => programme().output(O)?.state === 'up', {
      timeoutMs: 45_000,
    });
    expect(
      (await api('GET', '/api/rtp-out', server.token(O)).then((r) => r.json())) as RtpOutAnswer,
    ).toMatchObject({ active: true, state: 'up' });
    await waitFor('the status showing it', () =>
      status().outputs.find((o) => o.siteCode === O && o.state === 'up'),
    );
    expect(server.app.service.state.recording ?? null).toBeNull();
    expect(status().programme).toBeNull();
  });

  it('a dead sender is reported to the operators and started again, joining the running composite', async () => {
    const [pid] = programme().ffmpegPids;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid as number, 'SIGKILL');
    await waitFor('the problem reported', () =>
      status().problems.find(
        (p) => p.kind === 'recorder' && p.subject === O && p.message.includes('RTP output'),
      ),
    );
    await waitFor('sending again', () => {
      const [now] = programme().ffmpegPids;
      return programme().output(O)?.state === 'up' && now !== undefined && now !== pid;
    });
  });

  it("the hall's receiver opens the SDP it was answered: VP8 1280×720 video and Opus audio", async () => {
    const file = path.join(tmp, 'received.mkv');
    const t0 = Date.now();
    // Long enough for a key frame: the composite's MediaRecorder makes one every 200 frames or
    // so (8 s at 25 frames a second, longer on a busy machine); the sound is there from the start.
    expect(await receive(answer.sdp, file, 16)).toBe(0);
    const report = inspect(file);
    const count = (type: string) => {
      const s = report.streams.find((x) => x.type === type);
      return s ? (report.packets[s.index]?.count ?? 0) : 0;
    };
    process.stdout.write(
      `rtp-out: received in ${((Date.now() - t0) / 1000).toFixed(1)} s, file ${report.durationSec.toFixed(2)} s, ` +
        `${report.streams.map((s) => `${s.type}/${s.codec} ${report.packets[s.index]?.count} packets, gap ${report.packets[s.index]?.maxGap.toFixed(3)} s`).join('; ')}\n`,
    );
    expect(report.streams.map((s) => `${s.type}/${s.codec}`).sort()).toEqual(['audio/opus', 'video/vp8']);
    // Opus in 60 ms packets: about 260 in 16 s; the picture from its first key frame on.
    expect(count('audio')).toBeGreaterThan(200);
    expect(count('video')).toBeGreaterThan(10);
    expect(report.durationSec).toBeGreaterThan(14);
    const size = execFileSync(
      FFPROBE,
      [
        '-v',
        'error',
        '-select_streams',
        'v:0',
        '-show_entries',
        'stream=width,height',
        '-of',
        'csv=p=0',
        file,
      ],
      { encoding: 'utf8' },
    );
    expect(size.trim()).toBe('1280,720');
  });

  it('a recording started and stopped meanwhile is written whole, and leaves the output alone', async () => {
    const [sender] = programme().ffmpegPids;
    await pageCommand(chair, 'recording:start');
    const part = await waitFor('the recording joining the running composite', () => {
      const p = status().programme;
      return p && p.bytes > 50_000 ? p : undefined;
    });
    await waitFor('6 s recorded', () => Date.now() - part.since >= 6000, { intervalMs: 100 });
    const stoppedAt = Date.now();
    await pageCommand(chair, 'recording:stop');
    await waitFor('the file saved', () =>
      minutes().some((m) => m.type === 'recording.saved' && m.data.recording === part.id),
    );
    const report = inspect(server.app.recordings.file(part.id));
    const recordedSec = (stoppedAt - part.since) / 1000;
    process.stdout.write(
      `rtp-out: recorded ${recordedSec.toFixed(2)} s alongside, file ${report.durationSec.toFixed(2)} s, ` +
        `${report.streams.map((s) => `${s.type}/${s.codec} first ${report.packets[s.index]?.first.toFixed(3)} s`).join('; ')}\n`,
    );
    expect(report.streams.map((s) => `${s.type}/${s.codec}`).sort()).toEqual(['audio/opus', 'video/vp8']);
    // It starts at its own beginning (not the composite's), at the Cluster before it was asked
    // for (up to a second or two earlier), and ends with the piece holding its last second.
    for (const s of report.streams) expect(report.packets[s.index]?.first).toBeLessThan(5);
    expect(report.durationSec).toBeGreaterThanOrEqual(recordedSec - 1);
    expect(report.durationSec).toBeLessThanOrEqual(recordedSec + 3);
    // The composite goes on for the hall, with the same sender.
    expect(programme().running).toBe(true);
    expect(programme().output(O)?.state).toBe('up');
    expect(programme().ffmpegPids).toEqual([sender]);
  });

  it('a full disk stops the recording, not the RTP output', async () => {
    const [sender] = programme().ffmpegPids;
    await pageCommand(chair, 'recording:start');
    await waitFor('recording', () => (status().programme?.bytes ?? 0) > 20_000);
    server.app.recordings.freeBytesOverride = 0;
    try {
      await waitFor('the recording stopped for the disk', () => server.app.service.state.recording === null, {
        timeoutMs: 20_000,
      });
    } finally {
      server.app.recordings.freeBytesOverride = null;
    }
    expect(status().problems.some((p) => p.kind === 'disk')).toBe(true);
    await waitFor('the file part ended', () => status().programme === null);
    expect(programme().running).toBe(true);
    expect(programme().output(O)?.state).toBe('up');
    expect(programme().ffmpegPids).toEqual([sender]);
  });

  it('DELETE stops it (not for another hall), and the composite with it', async () => {
    const [sender] = programme().ffmpegPids;
    expect((await api('DELETE', `/api/rtp-out?site=${O}`, server.token(B))).status).toBe(403);
    expect((await api('DELETE', '/api/rtp-out', null)).status).toBe(401);
    expect(programme().output(O)?.state).toBe('up');
    expect((await api('DELETE', '/api/rtp-out', server.token(O))).status).toBe(204);
    expect(programme().output(O)).toBeUndefined();
    expect((await api('GET', '/api/rtp-out', server.token(O))).status).toBe(404);
    expect((await api('DELETE', '/api/rtp-out', server.token(O))).status).toBe(404);
    await waitFor('the composite stopped', () => !programme().running, { timeoutMs: 20_000 });
    await waitFor('its sender gone', () => {
      try {
        process.kill(sender as number, 0);
        return false;
      } catch {
        return true;
      }
    });
    expect(status().outputs).toEqual([]);
  });
});
