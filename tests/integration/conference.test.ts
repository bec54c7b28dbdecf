/**
 * The conference over the wire, against the real server and a real mediasoup worker:
 * commands and their pushes, server-side audio enforcement, expiry with an injected clock,
 * credentials checked on every command, and the minutes export.
 */
import type { MinuteEntry } from '../../protocol/conference';
import { FakeClock } from '../helpers/fakeClock';
import { type Participant, participant, seen } from '../helpers/conferenceClient';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';

let server: TestServer;
let clock: FakeClock;
const open: Participant[] = [];

async function join(who: string, token?: string): Promise<Participant> {
  const p = await participant(server, who, token);
  open.push(p);
  return p;
}

const liveMics = () => server.app.media().stats().liveMicrophones;

beforeAll(async () => {
  clock = new FakeClock(Date.UTC(2026, 6, 13, 1, 0, 0));
  server = await startTestServer(
    { floor: { defaultAllottedSec: 120, warningSec: 30, expiry: 'end', graceSec: 10 } },
    { clock },
  );
});

afterEach(() => {
  for (const p of open.splice(0)) p.close();
});

afterAll(async () => {
  await server.stop();
});

describe('a statement, end to end over the wire', () => {
  it('request → grant → the on-air microphone is live on the server → revoke → paused again', async () => {
    const chair = await join('chair');
    const hn = await join('ha-noi');
    const hue = await join('thua-thien-hue');
    const hnMic = await hn.publishMic();
    await hue.publishMic();
    expect(hnMic).toEqual(expect.any(String));

    await chair.must('conference:open');
    await chair.must('conference:start');
    await waitFor(
      'chair microphone absent: only site mics exist',
      () => liveMics().length === 0 || undefined,
    );

    await hn.must('floor:request', { title: 'Tham luận về chuyển đổi số' });
    const queued = await seen(hue, 'Hà Nội in the queue', (s) =>
      s.queue.some((r) => r.siteCode === 'ha-noi'),
    );
    const requestId = queued.queue[0]?.id as string;
    expect(liveMics()).toEqual([]); // queued is not heard

    await chair.must('floor:grant', { requestId });
    await seen(hue, 'Hà Nội on air', (s) => s.onAir?.siteCode === 'ha-noi');
    await waitFor(
      "Hà Nội's microphone resumed on the server",
      () => liveMics().includes('ha-noi') || undefined,
      {
        missing: liveMics,
      },
    );
    expect(liveMics()).not.toContain('thua-thien-hue');

    await chair.must('floor:revoke');
    await waitFor("Hà Nội's microphone paused on the server", () => liveMics().length === 0 || undefined, {
      missing: liveMics,
    });
    await seen(hn, 'the floor ended', (s) => s.onAir === null);
  });

  it('minutes go to the chair and operators, not to sites', async () => {
    const chair = await join('chair');
    const op = await join('operator');
    const site = await join('ca-mau');
    await op.must('rollcall:mark', { siteCode: 'ca-mau', status: 'present' });
    await waitFor('the chair to get the roll call line', () =>
      chair.minutes.some((m) => (m as MinuteEntry).type === 'rollcall.marked'),
    );
    await seen(
      site,
      'its roll call',
      (s) => s.sites.find((x) => x.code === 'ca-mau')?.rollCall === 'present',
    );
    expect(op.minutes.length).toBeGreaterThan(0);
    expect(site.minutes).toEqual([]);
  });

  it('a site cannot request the floor for another site, nor grant itself', async () => {
    const site = await join('lang-son');
    await expect(site.send('floor:request', { title: 'x', siteCode: 'cao-bang' })).resolves.toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    await site.must('floor:request', { title: 'Ý kiến của Lạng Sơn' });
    const id = site.state().queue.find((r) => r.siteCode === 'lang-son')?.id;
    await expect(site.send('floor:grant', { requestId: id })).resolves.toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    await site.must('floor:withdraw', { requestId: id });
  });

  it('a microphone published while on air is live at once; one published off air starts paused', async () => {
    const chair = await join('chair');
    const site = await join('ben-tre');
    await site.must('floor:request', { title: 'Báo cáo' });
    await seen(chair, 'Bến Tre queued', (s) => s.queue.some((r) => r.siteCode === 'ben-tre'));
    await chair.must('floor:next');
    await site.publishMic();
    expect(liveMics()).toContain('ben-tre');
    await chair.must('floor:revoke');
    const late = await join('tra-vinh');
    await late.publishMic();
    expect(liveMics()).not.toContain('tra-vinh');
  });
});

describe('time limits with the injected clock', () => {
  it('warns, expires and (policy "end") ends the floor after the grace period; the microphone is paused', async () => {
    const chair = await join('chair');
    const site = await join('kon-tum');
    await site.publishMic();
    await site.must('floor:request', { title: 'Tham luận' });
    await seen(chair, 'Kon Tum queued', (s) => s.queue.some((r) => r.siteCode === 'kon-tum'));
    await chair.must('floor:next');
    await waitFor('live', () => liveMics().includes('kon-tum') || undefined);
    clock.advance(90_000);
    await seen(site, 'the warning', (s) => s.onAir?.warned === true);
    clock.advance(30_000);
    await seen(site, 'the expiry', (s) => s.onAir?.expired === true);
    clock.advance(10_000);
    await seen(site, 'the end of the floor', (s) => s.onAir === null);
    await waitFor('paused after expiry', () => !liveMics().includes('kon-tum') || undefined, {
      missing: liveMics,
    });
    const ended = server.app.service
      .minutes()
      .filter((m) => m.type === 'floor.ended' && m.siteCode === 'kon-tum');
    expect(ended[0]?.data).toMatchObject({ reason: 'expired', allottedSec: 120, actualSec: 130 });
  });
});

describe('credentials on every command', () => {
  it('a credential that expires mid-session: the session is closed at its expiry, silent or not, and the link refused', async () => {
    const short = server.token('gia-lai', { ttlSec: 60, now: clock.now() });
    const site = await join('gia-lai', short);
    await site.must('floor:request', { title: 'x' });
    const told = new Promise((resolve) => site.socket.on('session:closed', resolve));
    const closed = new Promise((resolve) => site.socket.on('disconnect', resolve));
    clock.advance(59_000);
    expect(site.socket.connected).toBe(true);
    clock.advance(2_000);
    await expect(told).resolves.toEqual({ reason: 'expired' });
    await closed;
    await expect(participant(server, 'gia-lai', short)).rejects.toMatchObject({ code: 'AUTH_EXPIRED' });
  });
});

describe('minutes export', () => {
  const get = (path: string, token?: string) =>
    fetch(`${server.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  it('CSV for a spreadsheet: BOM, Vietnamese headers and names, quoted, CRLF', async () => {
    const res = await get('/api/minutes.csv', server.token('chair'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/csv; charset=utf-8/);
    expect(res.headers.get('content-disposition')).toMatch(
      /attachment; filename="?bien-ban-hoi-nghi-toan-quoc-\d{4}-\d\d-\d\d\.csv/,
    );
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = new TextDecoder().decode(bytes.slice(3));
    const lines = text.split('\r\n');
    expect(lines[0]).toBe('"STT","Thời gian","Sự kiện","Điểm cầu","Người thực hiện","Chi tiết","Mã sự kiện"');
    expect(text).toContain('"Mời phát biểu","Hà Nội","chair"');
    expect(text).toContain(
      '"Đăng ký phát biểu","Hà Nội","ha-noi","requestId=r1; title=Tham luận về chuyển đổi số"',
    );
    expect(lines.length - 2).toBe(server.app.service.minutes().length);
  });

  it('JSON with every entry, and English CSV on request', async () => {
    const json = (await (await get('/api/minutes.json', server.token('operator'))).json()) as {
      minutes: MinuteEntry[];
      timezone: string;
    };
    expect(json.timezone).toBe('Asia/Ho_Chi_Minh');
    expect(json.minutes.map((m) => m.seq)).toEqual(json.minutes.map((_m, i) => i + 1));
    const en = await (await get('/api/minutes.csv?lang=en', server.token('chair'))).text();
    expect(en).toContain('"No.","Time","Event","Site","By","Details","Event code"');
  });

  it("the media sockets' health: each worker's UDP port with the kernel's queue and drop counters", async () => {
    const res = await get('/api/health', server.token('operator'));
    expect(res.status).toBe(200);
    const { media } = (await res.json()) as {
      media: { sockets: { worker: number; port: number; drops: number }[]; dropsSinceStart: number };
    };
    const ports = server.app.pool.entries().map((e) => e.udpPort);
    expect(ports.every((p) => p > 0)).toBe(true);
    expect(media.sockets.map((s) => s.port)).toEqual(ports);
    for (const s of media.sockets) expect(s.drops).toBeGreaterThanOrEqual(0);
    expect(media.dropsSinceStart).toBeGreaterThanOrEqual(0);
    expect((await get('/api/health', server.token('ha-noi'))).status).toBe(403);
  });

  it('refuses sites, the wall and anonymous callers', async () => {
    expect((await get('/api/minutes.csv')).status).toBe(401);
    expect((await get('/api/minutes.json', 'garbage')).status).toBe(401);
    expect((await get('/api/minutes.csv', server.token('ha-noi'))).status).toBe(403);
    expect((await get('/api/state', server.token('wall'))).status).toBe(403);
  });
});
