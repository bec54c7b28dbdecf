/**
 * Liveness and the held place (issue 11, item 3), through the protocol with a real server and
 * media worker. Sites reach the server through the user-space fault relay (tests/helpers/
 * relay.ts): a blackout is a pulled cable (nothing passes; TCP bytes wait), a cut is a NAT
 * reset. A site that stops answering is lost within health.lostAfterSec; what it held is kept
 * for health.holdSec and given back as it was (on air, with the same time left) when it
 * answers again or rejoins with the same credential; not back in time, it is released by the
 * rules, in the minutes. A hall that leaves on purpose is an ordinary departure. The control
 * room's health push and history are for the chair, co-chair and operators only.
 */
import type { ConferenceState, MinuteEntry } from '../../protocol/conference';
import type { SiteHealth } from '../../protocol/health';
import { type Participant, participant, seen } from '../helpers/conferenceClient';
import { FaultRelay } from '../helpers/relay';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';
import { ok, request } from '../helpers/wsClient';

jest.setTimeout(60_000);

const LOST_AFTER_SEC = 3;
const HOLD_SEC = 4;
let server: TestServer;
let relay: FaultRelay;
let relayUrl: string;
let chair: Participant;
let operator: Participant;
const minutes = () => operator.minutes as MinuteEntry[];
const lastMinute = (type: string, site: string) =>
  [...minutes()].reverse().find((m) => m.type === type && m.siteCode === site);

beforeAll(async () => {
  server = await startTestServer({
    health: { sampleSec: 2, lostAfterSec: LOST_AFTER_SEC, holdSec: HOLD_SEC },
  });
  relay = new FaultRelay();
  relayUrl = `http://127.0.0.1:${await relay.tcp(server.app.port)}`;
  chair = await participant(server, 'chair');
  operator = await participant(server, 'operator');
  await chair.must('conference:open');
  await chair.must('conference:start');
});

afterAll(async () => {
  chair?.close();
  operator?.close();
  await relay?.close();
  await server?.stop();
});

/** A site through the relay, on air with `sec` seconds. */
async function onAir(code: string, sec: number): Promise<Participant> {
  const site = await participant(server, code, server.token(code), relayUrl);
  await site.must('floor:request', { title: 'Tham luận' });
  const req = (
    await seen(chair, `${code}'s request`, (s) => s.queue.some((r) => r.siteCode === code))
  ).queue.find((r) => r.siteCode === code);
  await chair.must('floor:grant', { requestId: req?.id, allottedSec: sec });
  await seen(chair, `${code} on air`, (s) => s.onAir?.siteCode === code);
  return site;
}

/** Waits until the participant's latest state satisfies the check (not any earlier one). */
const now = (p: Participant, what: string, check: (s: ConferenceState) => boolean) =>
  waitFor(`${p.who} to see ${what}`, () => (check(p.state()) ? p.state() : undefined), {
    missing: () => p.state(),
  });

const remainingAt = (s: ConferenceState, now: number) =>
  s.onAir ? s.onAir.endsAt - (s.onAir.pausedAt ?? now) : null;

describe('a site that stops answering', () => {
  it('is lost within lostAfterSec, held with its clock stopped, and back as it was when the line returns', async () => {
    const site = await onAir('ha-noi', 120);
    relay.blackout(); // the cable is pulled: nothing passes either way
    const cutAt = Date.now();
    const lost = await seen(chair, 'ha-noi lost and held', (s) => Boolean(s.away?.['ha-noi']));
    const detectedMs = Date.now() - cutAt;
    expect(detectedMs).toBeLessThanOrEqual(LOST_AFTER_SEC * 1000 + 1000);
    expect(lost.onAir?.siteCode).toBe('ha-noi');
    expect(lost.onAir?.pausedAt).toBeDefined();
    expect(lastMinute('site.lost', 'ha-noi')?.data).toMatchObject({ holdSec: HOLD_SEC });
    const held = remainingAt(lost, Date.now()) as number;
    relay.restore();
    const back = await now(
      chair,
      'ha-noi back',
      (s) => !s.away?.['ha-noi'] && s.onAir?.pausedAt === undefined,
    );
    expect(back.onAir?.siteCode).toBe('ha-noi');
    // The same time left as when it went (to the second: the clock ran until it was noticed).
    expect(Math.abs((back.onAir?.endsAt as number) - Date.now() - held)).toBeLessThan(1500);
    expect(lastMinute('site.back', 'ha-noi')).toBeDefined();
    expect(site.socket.connected).toBe(true); // the same session: nothing to rejoin
    await chair.must('floor:revoke');
    site.close();
  });

  it('whose socket drops rejoins with the same credential and has its place and time back', async () => {
    const site = await onAir('hai-phong', 120);
    relay.cut(); // a NAT reset: the connection is gone at once
    const lost = await seen(chair, 'hai-phong held', (s) => Boolean(s.away?.['hai-phong']));
    expect(lost.onAir?.pausedAt).toBeDefined();
    const held = remainingAt(lost, Date.now()) as number;
    const again = await participant(server, 'hai-phong', server.token('hai-phong'), relayUrl);
    const back = await now(chair, 'hai-phong back', (s) => !s.away?.['hai-phong']);
    expect(back.onAir?.siteCode).toBe('hai-phong');
    expect(Math.abs((back.onAir?.endsAt as number) - Date.now() - held)).toBeLessThan(1500);
    expect(again.join.state.onAir?.siteCode).toBe('hai-phong');
    await chair.must('floor:revoke');
    again.close();
    site.close();
  });

  it('not back within holdSec: its floor ends, its request leaves the queue, in the minutes', async () => {
    const speaker = await onAir('da-nang', 120);
    const waiting = await participant(server, 'can-tho', server.token('can-tho'), relayUrl);
    await waiting.must('floor:request', { title: 'Chờ' });
    await seen(chair, 'can-tho queued', (s) => s.queue.some((r) => r.siteCode === 'can-tho'));
    relay.cut();
    const released = await waitFor(
      'both released',
      () =>
        lastMinute('site.released', 'da-nang') && lastMinute('site.released', 'can-tho')
          ? chair.state()
          : undefined,
      { timeoutMs: (HOLD_SEC + LOST_AFTER_SEC + 5) * 1000, missing: () => chair.state().away },
    );
    expect(released.onAir).toBeNull();
    expect(released.queue.some((r) => r.siteCode === 'can-tho')).toBe(false);
    expect(released.away).toBeUndefined();
    expect(lastMinute('floor.ended', 'da-nang')?.data.reason).toBe('lost');
    expect(lastMinute('floor.withdrawn', 'can-tho')?.data.reason).toBe('lost');
    speaker.close();
    waiting.close();
  });

  it('a hall that leaves on purpose is an ordinary departure: nothing held', async () => {
    const site = await participant(server, 'an-giang', server.token('an-giang'), relayUrl);
    site.close(); // the client disconnects itself
    await waitFor('the departure in the minutes', () => lastMinute('site.left', 'an-giang'));
    expect(chair.state().away?.['an-giang']).toBeUndefined();
    expect(lastMinute('site.lost', 'an-giang')).toBeUndefined();
  });
});

describe("the control room's health", () => {
  it('pushes every site to the operator each round; a site reports its figures; lost sites say why', async () => {
    const pushes: SiteHealth[][] = [];
    operator.socket.on('health:changed', ({ sites }: { sites: SiteHealth[] }) => pushes.push(sites));
    const site = await participant(server, 'quang-ninh', server.token('quang-ninh'), relayUrl);
    await site.must('stats:report', {
      sendKbps: 900,
      recvKbps: 1200,
      fps: 25,
      freezes: 0,
      audioLevel: 0.2,
      rttMs: 40,
    });
    const row = await waitFor('the hall in a push with its figures', () =>
      pushes.flat().find((h) => h.code === 'quang-ninh' && h.last?.fps === 25),
    );
    expect(row.level).not.toBe('lost');
    expect(row.last).toMatchObject({ fps: 25, freezes: 0, audioLevel: 0.2 });
    expect(pushes[pushes.length - 1]).toHaveLength(server.app.roster.sites.length);
    // Figures past the thresholds make it degraded or poor, with the reason.
    await site.must('stats:report', {
      sendKbps: 900,
      recvKbps: 1200,
      fps: 3,
      freezes: 9,
      audioLevel: 0,
      rttMs: 40,
    });
    const poor = await waitFor('the freezes to make it poor', () =>
      pushes.flat().find((h) => h.code === 'quang-ninh' && h.level === 'poor'),
    );
    expect(poor.last?.reasons).toContain('freeze');
    relay.blackout();
    const lost = await waitFor(
      'the hall lost for no heartbeat',
      () => pushes.flat().find((h) => h.code === 'quang-ninh' && h.level === 'lost'),
      { timeoutMs: (LOST_AFTER_SEC + 5) * 1000 },
    );
    expect(lost.last?.reasons).toEqual(['heartbeat']);
    relay.restore();
    // Its history outlives all that, and is the operator's to read.
    const hist = await ok<{ code: string; samples: { level: string }[] }>(operator.socket, 'health:history', {
      code: 'quang-ninh',
    });
    expect(hist.samples.map((s) => s.level)).toEqual(expect.arrayContaining(['poor', 'lost']));
    site.close();
  });

  it('refuses what is not theirs or not well formed, and changes nothing', async () => {
    const site = await participant(server, 'lao-cai');
    const refusedHistory = await request(site.socket, 'health:history', { code: 'lao-cai' });
    expect(refusedHistory).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    for (const bad of [
      { sendKbps: -1, recvKbps: 0, fps: 0, freezes: 0, audioLevel: 0 },
      { sendKbps: 1, recvKbps: 0, fps: 0, freezes: 0, audioLevel: 2 },
      { sendKbps: 1, recvKbps: 0, fps: 0, freezes: 0.5, audioLevel: 0 },
      { sendKbps: 1, recvKbps: 0, fps: 0, freezes: 0, audioLevel: 0, extra: 1 },
      { sendKbps: 'x' },
    ])
      expect(await request(site.socket, 'stats:report', bad)).toMatchObject({
        ok: false,
        error: { code: 'BAD_REQUEST' },
      });
    expect(await request(operator.socket, 'health:history', { code: 'no-such-site' })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    site.close();
  });
});
