/**
 * Scale in the suite: 8 synthetic halls and a synthetic chair with real WebRTC (werift: ICE,
 * DTLS, SRTP) and real media (pre-encoded VP8 in three simulcast layers, Opus) through the real
 * server and a real mediasoup worker. Every hall receives the programme (the chair's audio and
 * video, counted against what the chair sent), the floor moves from one hall to another and its
 * audio follows, and nothing arrives that was not offered. A scale regression fails `npm test`;
 * how far it goes is the load benchmark's business.
 *
 * The server runs two mediasoup workers: the halls are spread over both, and what crosses from
 * one worker to the other goes through pipeToRouter, so the delivery figures cover piped media.
 * A hall off air is asked (dynacast, `producer:layers`) to send only its low layer, the one on
 * air all three. Last, one worker is killed: only the halls it carried are asked to start their
 * media again (`media:restart`, in the same session);
 * the others keep receiving the programme without a break.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SyntheticSite } from '../../bench/loadgen/syntheticSite';
import { ARTIFACTS } from '../helpers/browser';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';
import { ok } from '../helpers/wsClient';

jest.setTimeout(90_000);

const CODES = ['ha-noi', 'ho-chi-minh', 'hai-phong', 'da-nang', 'can-tho', 'lao-cai', 'nghe-an', 'ca-mau'];

let server: TestServer;
let chair: SyntheticSite;
const sites: SyntheticSite[] = [];

beforeAll(async () => {
  server = await startTestServer({ mediasoup: { numWorkers: 2, logLevel: 'error' } });
  chair = await new SyntheticSite(server.url, server.token('chair'), 'chair').start();
  for (const code of CODES) sites.push(await new SyntheticSite(server.url, server.token(code), code).start());
});

afterAll(async () => {
  await Promise.all([chair, ...sites].map((s) => s?.stop()));
  await server?.stop();
});

/** Over a window in which the chair sends at least `packets` more audio packets: delivered ÷ sent at each hall. */
async function programmeDelivery(packets: number) {
  const sentAudio = () => chair.sent().microphone;
  // Halls are sent the chair's top layer (r2): every packet of it should arrive.
  const sentVideo = () => chair.sent().camera.r2 ?? 0;
  const at = (s: SyntheticSite) => ({
    audio: s.packetsFrom('chair', 'microphone'),
    video: s.packetsFrom('chair', 'camera'),
  });
  const a0 = sentAudio();
  const v0 = sentVideo();
  const before = sites.map(at);
  await waitFor(
    `the chair to send ${packets} audio packets`,
    () => sentAudio() - a0 >= packets || undefined,
    {
      timeoutMs: 20_000,
    },
  );
  const a1 = sentAudio();
  const v1 = sentVideo();
  const got = (s: SyntheticSite, i: number) => {
    const now = at(s);
    const b = before[i] as { audio: number; video: number };
    return { audio: now.audio - b.audio, video: now.video - b.video };
  };
  // What was sent before the end of the window may still be on its way: let every hall catch up
  // with it (a bound, not a pause: it ends as soon as all have it, and the ratios say what is missing).
  await waitFor(
    'every hall to receive the window',
    () => sites.every((s, i) => got(s, i).audio >= a1 - a0 && got(s, i).video >= v1 - v0) || undefined,
    { timeoutMs: 5000 },
  ).catch(() => undefined);
  return sites.map((s, i) => {
    const g = got(s, i);
    return {
      site: s.name,
      audioSent: a1 - a0,
      audioRatio: Math.min(g.audio, a1 - a0) / (a1 - a0),
      videoSent: v1 - v0,
      videoReceived: g.video,
      videoRatio: Math.min(g.video, v1 - v0) / (v1 - v0),
    };
  });
}

describe('8 synthetic halls with real WebRTC through the server', () => {
  it('the halls are spread over both workers, the central consoles on one (the hub)', () => {
    const placed = server.app.media().placement();
    expect(Object.keys(placed.workers)).toHaveLength(2);
    expect(placed.byPrincipal.chair).toBe(placed.hub);
    const perWorker = [0, 1].map((w) => CODES.filter((c) => placed.byPrincipal[c] === w).length);
    // Both carry halls; the hub fewer, as it also carries the chair's consumers.
    expect(perWorker.every((n) => n > 0)).toBe(true);
    expect(perWorker[placed.hub as number]).toBeLessThan(perWorker[1 - (placed.hub as number)] as number);
  });

  it("every hall receives the programme: the chair's audio and top video layer, ≥ 99.9 % of what it sent", async () => {
    await ok(chair.socket, 'conference:open', {});
    await ok(chair.socket, 'conference:start', {});
    await waitFor(
      "every hall to receive the chair's audio and video",
      () =>
        sites.every(
          (s) => s.packetsFrom('chair', 'microphone') > 0 && s.packetsFrom('chair', 'camera') > 0,
        ) || undefined,
      {
        timeoutMs: 20_000,
        missing: () =>
          sites.map((s) => [s.name, s.packetsFrom('chair', 'microphone'), s.packetsFrom('chair', 'camera')]),
      },
    );
    const delivery = await programmeDelivery(250); // 5 s of audio
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'scale-programme.json'), JSON.stringify(delivery, null, 2));
    for (const d of delivery) {
      expect(d.audioRatio).toBeGreaterThanOrEqual(0.999);
      expect(d.videoRatio).toBeGreaterThanOrEqual(0.999);
    }
    for (const s of sites) expect(s.unknownPackets).toBe(0);
  });

  it('the floor moves from one hall to another and the audio follows: heard only while on air', async () => {
    const [a, b, ...listeners] = sites as [SyntheticSite, SyntheticSite, ...SyntheticSite[]];
    const heard = (from: SyntheticSite) => listeners.map((l) => l.packetsFrom(from.name, 'microphone'));
    // Both halls send their microphone all along, as halls do; before any grant nobody hears them.
    expect(a.sent().microphone).toBeGreaterThan(0);
    expect(heard(a).every((n) => n === 0)).toBe(true);

    await ok(a.socket, 'floor:request', { title: 'Tham luận 1' });
    await ok(chair.socket, 'floor:next', {});
    await waitFor('every listener to hear the first hall', () => heard(a).every((n) => n > 0) || undefined, {
      timeoutMs: 10_000,
      missing: () => heard(a),
    });
    await waitFor(
      'every listener to see the first hall',
      () => listeners.every((l) => l.packetsFrom(a.name, 'camera') > 0) || undefined,
      {
        timeoutMs: 10_000,
      },
    );
    expect(heard(b).every((n) => n === 0)).toBe(true);

    await ok(chair.socket, 'floor:revoke', {});
    await ok(b.socket, 'floor:request', { title: 'Tham luận 2' });
    await ok(chair.socket, 'floor:next', {});
    await waitFor('every listener to hear the second hall', () => heard(b).every((n) => n > 0) || undefined, {
      timeoutMs: 10_000,
      missing: () => heard(b),
    });
    // The first hall goes on sending; once the second has been heard for 50 more packets
    // everywhere, nothing more of the first may have arrived.
    const aAfter = heard(a);
    const bNow = heard(b);
    await waitFor(
      '50 more packets of the second hall everywhere',
      () => heard(b).every((n, i) => n - (bNow[i] as number) >= 50) || undefined,
      {
        timeoutMs: 10_000,
      },
    );
    expect(heard(a)).toEqual(aAfter);
    expect(a.sent().microphone).toBeGreaterThan(0);
  });

  it('dynacast: the hall on air sends all three layers, a hall off air only its low layer', async () => {
    // After the floor test: the second hall is on air, the first was revoked.
    const [a, b] = sites as [SyntheticSite, SyntheticSite];
    await waitFor(
      'the hall off air to be asked for its low layer only, the speaker for all three',
      () => (a.maxLayer === 0 && b.maxLayer === 2) || undefined,
      { timeoutMs: 15_000, missing: () => [a.maxLayer, b.maxLayer] },
    );
    const camera = (s: SyntheticSite) => s.sent().camera;
    const a0 = camera(a);
    const b0 = camera(b);
    await waitFor(
      '60 more packets of the low layer of the hall off air',
      () => (camera(a).r0 ?? 0) - (a0.r0 ?? 0) >= 60 || undefined,
      { timeoutMs: 10_000 },
    );
    const a1 = camera(a);
    const b1 = camera(b);
    expect(a1.r1).toBe(a0.r1);
    expect(a1.r2).toBe(a0.r2);
    expect((b1.r2 ?? 0) - (b0.r2 ?? 0)).toBeGreaterThan(0);
    expect((b1.r1 ?? 0) - (b0.r1 ?? 0)).toBeGreaterThan(0);
  });

  it("a worker's death takes only the halls it carried; the others keep the programme", async () => {
    const placed = server.app.media().placement();
    const hub = placed.hub as number;
    const other = 1 - hub;
    const onOther = sites.filter((s) => placed.byPrincipal[s.name] === other);
    const onHub = sites.filter((s) => placed.byPrincipal[s.name] === hub);
    expect(onOther.length).toBeGreaterThan(0);
    expect(onHub.length).toBeGreaterThan(0);
    const restarted = new Set<string>();
    const closed = new Set<string>();
    for (const s of sites) {
      s.socket.on('media:restart', () => restarted.add(s.name));
      s.socket.on('session:closed', () => closed.add(s.name));
    }
    const pid = server.app.pool.entry(other)?.worker.pid as number;
    process.kill(pid, 'SIGKILL');
    await waitFor(
      'the halls of the dead worker to be asked to start their media again',
      () => onOther.every((s) => restarted.has(s.name)) || undefined,
    );
    // The halls on the hub keep receiving the chair, piped or not, after the death.
    const before = onHub.map((s) => s.packetsFrom('chair', 'microphone'));
    await waitFor(
      'the halls on the living worker to receive 100 more of the chair’s audio packets',
      () =>
        onHub.every((s, i) => s.packetsFrom('chair', 'microphone') - (before[i] as number) >= 100) ||
        undefined,
      { timeoutMs: 10_000 },
    );
    expect(onHub.filter((s) => restarted.has(s.name) || closed.has(s.name))).toEqual([]);
    // Their sessions go on: nothing was closed, so nothing changes in the conference.
    expect(closed.size).toBe(0);
    // The worker is replaced and the server is ready again.
    await waitFor('the replacement worker in use', async () => {
      const res = await fetch(`${server.url}/readyz`);
      return res.status === 200 || undefined;
    });
    expect(server.app.media().workers).toBe(2);
  });
});
