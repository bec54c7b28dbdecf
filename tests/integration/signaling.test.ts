/**
 * The server against a real mediasoup worker, driven by socket.io clients from Node:
 * authentication, validation at the edge, transport negotiation, server-made consumers.
 */
import type { ConsumerOffer, JoinResult, TransportOptions } from '../../protocol/events';
import { type CredentialClaims, issueCredential } from '../../server/src/auth/credentials';
import { TEST_SECRET, type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';
import {
  FAKE_DTLS,
  type TestSocket,
  connect,
  ok,
  opusParameters,
  request,
  vp8Parameters,
} from '../helpers/wsClient';

let server: TestServer;
const sockets: TestSocket[] = [];

async function client(who: string): Promise<TestSocket> {
  const s = await connect(server.url, server.token(who));
  sockets.push(s);
  return s;
}

/** Collects the consumer offers a socket receives, acking each one. */
function collectOffers(s: TestSocket): ConsumerOffer[] {
  const offers: ConsumerOffer[] = [];
  s.on('consumer:added', (offer: ConsumerOffer, ack: (r: unknown) => void) => {
    offers.push(offer);
    ack({ ok: true, data: null });
  });
  return offers;
}

beforeAll(async () => {
  server = await startTestServer();
});

afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

afterAll(async () => {
  await server.stop();
});

describe('HTTP', () => {
  it('GET /healthz answers ok and GET /readyz is ready once the workers are up', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    await expect(ready.json()).resolves.toEqual({ status: 'ready' });
  });

  it('serves the site and chair pages', async () => {
    for (const p of ['/site', '/chair', '/site.js', '/']) {
      const res = await fetch(`${server.url}${p}`);
      expect(res.status).toBe(200);
    }
  });
});

describe('handshake', () => {
  it.each([
    ['no token', undefined, 'AUTH_REQUIRED'],
    ['an empty token', '', 'AUTH_REQUIRED'],
    ['a forged token', `site.ha-noi.${'A'.repeat(32)}`, 'AUTH_INVALID_TOKEN'],
    ['a token that is not a string', 42, 'AUTH_INVALID_TOKEN'],
  ])('refuses %s with %s', async (_what, token, code) => {
    await expect(connect(server.url, token as string)).rejects.toMatchObject({ code });
  });

  it.each([
    ['a chair credential for a provincial site', { role: 'chair', site: 'ha-noi', sub: 'chair' }],
    ['a site credential for the central bridge', { role: 'site', site: 'trung-uong', sub: 'trung-uong' }],
    [
      'a site credential naming another site as its subject',
      { role: 'site', site: 'ha-noi', sub: 'hai-phong' },
    ],
    ['an unknown role', { role: 'king', site: 'trung-uong', sub: 'x' }],
  ])('refuses %s', async (_what, claims) => {
    const token = issueCredential(
      TEST_SECRET,
      { conf: server.config.conference.id, ...claims } as CredentialClaims,
      600,
    );
    await expect(connect(server.url, token)).rejects.toMatchObject({ code: 'AUTH_INVALID_TOKEN' });
  });

  it('refuses an expired credential with AUTH_EXPIRED, and one of another conference or secret', async () => {
    const expired = server.token('ha-noi', { ttlSec: 60, now: Date.now() - 120_000 });
    await expect(connect(server.url, expired)).rejects.toMatchObject({ code: 'AUTH_EXPIRED' });
    await expect(
      connect(server.url, server.token('ha-noi', { conf: 'other-conference' })),
    ).rejects.toMatchObject({
      code: 'AUTH_INVALID_TOKEN',
    });
    await expect(
      connect(server.url, server.token('ha-noi', { secret: 'another-secret-0123456789-abcdefghijkl' })),
    ).rejects.toMatchObject({ code: 'AUTH_INVALID_TOKEN' });
  });

  it('refuses a token for a site that is not in the roster', async () => {
    await expect(connect(server.url, server.token('atlantis'))).rejects.toMatchObject({
      code: 'AUTH_INVALID_TOKEN',
    });
  });
});

describe('session:join', () => {
  it('returns the roster, presence and the router capabilities (Opus, VP8, H264)', async () => {
    const s = await client('ha-noi');
    const info = await ok<JoinResult>(s, 'session:join', {});
    expect(info.role).toBe('site');
    expect(info.site).toEqual({ code: 'ha-noi', name: 'Hà Nội', kind: 'city' });
    expect(info.sites).toHaveLength(64);
    expect(info.presence.find((p) => p.code === 'ha-noi')?.connected).toBe(true);
    const mimes = (info.routerRtpCapabilities.codecs as { mimeType: string }[]).map((c) => c.mimeType);
    expect(mimes).toEqual(expect.arrayContaining(['audio/opus', 'video/VP8', 'video/H264']));
    expect(info.recvTransport.iceCandidates.length).toBeGreaterThan(0);
    // The same capabilities are public over HTTP, so a browser can prepare while it connects.
    const caps = (await (await fetch(`${server.url}/api/rtp-capabilities`)).json()) as unknown;
    expect(caps).toEqual(info.routerRtpCapabilities);
  });

  it('twice on one socket is refused with ALREADY_JOINED', async () => {
    const s = await client('thua-thien-hue');
    await ok(s, 'session:join', {});
    await expect(request(s, 'session:join', {})).resolves.toMatchObject({
      ok: false,
      error: { code: 'ALREADY_JOINED' },
    });
  });

  it('the same site joining again closes the older session with the reason "replaced"', async () => {
    const first = await client('can-tho');
    await ok(first, 'session:join', {});
    const closed = new Promise((resolve) => first.on('session:closed', resolve));
    const gone = new Promise((resolve) => first.on('disconnect', resolve));
    const second = await client('can-tho');
    await ok(second, 'session:join', {});
    await expect(closed).resolves.toEqual({ reason: 'replaced' });
    await gone;
    const watcher = await client('hai-phong');
    const info = await ok<JoinResult>(watcher, 'session:join', {});
    expect(info.presence.find((p) => p.code === 'can-tho')?.connected).toBe(true);
  });

  it('tells the others when a site connects and disconnects', async () => {
    const watcher = await client('chair');
    await ok(watcher, 'session:join', {});
    const seen: unknown[] = [];
    watcher.on('presence:changed', (p) => seen.push(p));
    const s = await client('an-giang');
    await ok(s, 'session:join', {});
    await waitFor('presence connected', () => seen.some((p) => (p as { connected: boolean }).connected));
    s.close();
    await waitFor('presence disconnected', () => seen.some((p) => !(p as { connected: boolean }).connected), {
      missing: () => seen,
    });
    expect(seen[0]).toEqual({
      code: 'an-giang',
      connected: true,
      camera: false,
      microphone: false,
      poor: false,
    });
    expect(seen[seen.length - 1]).toEqual({
      code: 'an-giang',
      connected: false,
      camera: false,
      microphone: false,
      poor: false,
    });
  });
});

describe('validation at the edge', () => {
  it('refuses requests before joining with NOT_JOINED', async () => {
    const s = await client('lao-cai');
    await expect(request(s, 'transport:create', { direction: 'send' })).resolves.toMatchObject({
      ok: false,
      error: { code: 'NOT_JOINED' },
    });
  });

  it.each([
    ['transport:create', 'an unknown direction', { direction: 'sideways' }],
    ['transport:create', 'an extra key', { direction: 'send', extra: 1 }],
    ['transport:create', 'a string payload', 'send'],
    ['transport:create', 'a null payload', null],
    ['transport:connect', 'a numeric id', { transportId: 5, dtlsParameters: {} }],
    ['transport:connect', 'an overlong id', { transportId: 'x'.repeat(100), dtlsParameters: {} }],
    [
      'producer:create',
      'an unknown kind',
      { transportId: 'a', kind: 'smell', source: 'camera', rtpParameters: {} },
    ],
    [
      'session:ready',
      'capabilities over 64 KiB',
      { rtpCapabilities: { codecs: [], big: 'x'.repeat(70_000) } },
    ],
    ['session:join', 'a claimed identity', { token: 'pretend-chair' }],
  ])('%s with %s → BAD_REQUEST', async (event, _what, payload) => {
    const s = await client('nghe-an');
    if (event !== 'session:join') await ok(s, 'session:join', {});
    const res = await request(s, event, payload);
    expect(res).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });

  it('answers an unknown event with UNKNOWN_EVENT and keeps serving', async () => {
    const s = await client('ninh-binh');
    await expect(request(s, 'floor:seize', {})).resolves.toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_EVENT' },
    });
    await expect(ok(s, 'session:join', {})).resolves.toMatchObject({ role: 'site' });
  });

  it('refuses unknown ids with NOT_FOUND and invalid media parameters with BAD_REQUEST', async () => {
    const s = await client('phu-tho');
    await ok(s, 'session:join', {});
    await expect(
      request(s, 'transport:connect', { transportId: 'nope', dtlsParameters: FAKE_DTLS }),
    ).resolves.toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const t = await ok<TransportOptions>(s, 'transport:create', { direction: 'send' });
    await expect(
      request(s, 'producer:create', {
        transportId: t.id,
        kind: 'audio',
        source: 'microphone',
        rtpParameters: { codecs: 7 },
      }),
    ).resolves.toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    await expect(
      request(s, 'producer:create', {
        transportId: t.id,
        kind: 'video',
        source: 'microphone',
        rtpParameters: vp8Parameters(1),
      }),
    ).resolves.toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });

  it('applies a request sent without an acknowledgement callback, and keeps serving', async () => {
    const s = await client('son-la');
    s.emit('session:join', {});
    s.emit('transport:create');
    await expect(request(s, 'session:join', {})).resolves.toMatchObject({
      ok: false,
      error: { code: 'ALREADY_JOINED' },
    });
  });
});

describe('negotiation with a real worker', () => {
  it("transports, producers and server-made consumers: the site gets the chair's media, the chair the site's camera", async () => {
    const chair = await client('chair');
    const site = await client('thanh-hoa');
    const chairOffers = collectOffers(chair);
    const siteOffers = collectOffers(site);
    const chairInfo = await ok<JoinResult>(chair, 'session:join', {});
    await ok(site, 'session:join', {});
    const caps = chairInfo.routerRtpCapabilities;

    // Transports: ICE candidates on loopback over UDP and TCP (one WebRtcServer port).
    const chairSend = await ok<TransportOptions>(chair, 'transport:create', { direction: 'send' });
    expect(chairSend.iceCandidates.map((c) => c.protocol).sort()).toEqual(['tcp', 'udp']);
    expect(chairSend.iceCandidates.every((c) => c.ip === '127.0.0.1')).toBe(true);
    await ok(chair, 'transport:connect', { transportId: chairSend.id, dtlsParameters: FAKE_DTLS });
    await ok(chair, 'transport:create', { direction: 'recv' });
    await ok(chair, 'session:ready', { rtpCapabilities: caps });

    const siteRecv = await ok<TransportOptions>(site, 'transport:create', { direction: 'recv' });
    expect(siteRecv.id).not.toBe(chairSend.id);
    await ok(site, 'session:ready', { rtpCapabilities: caps });

    const mic = await ok<{ id: string }>(chair, 'producer:create', {
      transportId: chairSend.id,
      kind: 'audio',
      source: 'microphone',
      rtpParameters: opusParameters(1111),
    });
    const cam = await ok<{ id: string }>(chair, 'producer:create', {
      transportId: chairSend.id,
      kind: 'video',
      source: 'camera',
      rtpParameters: vp8Parameters(2222),
    });
    await waitFor('site offered the chair microphone and camera', () => siteOffers.length >= 2, {
      missing: () => siteOffers.map((o) => o.source),
    });
    expect(siteOffers.map((o) => o.producerId).sort()).toEqual([mic.id, cam.id].sort());
    expect(siteOffers.every((o) => o.site.code === 'trung-uong' && o.role === 'chair')).toBe(true);

    // A second producer of the same source is refused.
    await expect(
      request(chair, 'producer:create', {
        transportId: chairSend.id,
        kind: 'audio',
        source: 'microphone',
        rtpParameters: opusParameters(3333),
      }),
    ).resolves.toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });

    const siteSend = await ok<TransportOptions>(site, 'transport:create', { direction: 'send' });
    const siteCam = await ok<{ id: string }>(site, 'producer:create', {
      transportId: siteSend.id,
      kind: 'video',
      source: 'camera',
      rtpParameters: vp8Parameters(4444),
    });
    await waitFor("chair offered the site's camera", () =>
      chairOffers.some((o) => o.producerId === siteCam.id),
    );
    expect(chairOffers.every((o) => o.kind === 'video' && o.site.code === 'thanh-hoa')).toBe(true);

    // The site leaves: the chair is told its consumer closed.
    const closed = new Promise((resolve) => chair.on('consumer:closed', resolve));
    site.close();
    await expect(closed).resolves.toMatchObject({ id: expect.any(String) });
  });
});

describe('a consumer offer the client refuses', () => {
  it('is made again later (backing off), so a missed offer does not stay missing', async () => {
    const chair = await client('chair');
    const site = await client('nghe-an');
    collectOffers(chair);
    const offers: { producerId: string; answered: 'no' | 'yes' }[] = [];
    const closed: string[] = [];
    site.on('consumer:closed', ({ id }: { id: string }) => closed.push(id));
    site.on('consumer:added', (offer: ConsumerOffer, ack: (r: unknown) => void) => {
      // The first offer is refused, as a page busy with something else might fail it.
      const first = offers.length === 0;
      offers.push({ producerId: offer.producerId, answered: first ? 'no' : 'yes' });
      ack(first ? { ok: false, error: { code: 'INTERNAL', message: 'busy' } } : { ok: true, data: null });
    });
    const info = await ok<JoinResult>(chair, 'session:join', {});
    await ok(site, 'session:join', {});
    const send = await ok<TransportOptions>(chair, 'transport:create', { direction: 'send' });
    await ok(site, 'session:ready', { rtpCapabilities: info.routerRtpCapabilities });
    const mic = await ok<{ id: string }>(chair, 'producer:create', {
      transportId: send.id,
      kind: 'audio',
      source: 'microphone',
      rtpParameters: opusParameters(7777),
    });
    await waitFor(
      'the refused offer made again',
      () => offers.filter((o) => o.producerId === mic.id).length >= 2,
      {
        timeoutMs: 5000,
        missing: () => offers,
      },
    );
    expect(offers.filter((o) => o.producerId === mic.id).map((o) => o.answered)).toEqual(['no', 'yes']);
    expect(closed).toHaveLength(1); // told to drop the refused one
  });
});

describe('worker death', () => {
  it('the worker is replaced; its sessions are placed again and start their media in the same session', async () => {
    const s = await client('quang-ninh');
    await ok(s, 'session:join', {});
    const restarted = new Promise<{
      recvTransport: TransportOptions;
      routerRtpCapabilities: { codecs?: unknown[] };
    }>((resolve) => s.on('media:restart', resolve));
    let closed = false;
    s.on('session:closed', () => (closed = true));
    const oldPid = server.app.pool.entry(0)?.worker.pid as number;
    process.kill(oldPid, 'SIGKILL');
    const fresh = await restarted;
    expect(fresh.recvTransport.id).toEqual(expect.any(String));
    expect(fresh.routerRtpCapabilities.codecs?.length).toBeGreaterThan(0);
    await waitFor('a new worker', () => {
      const pid = server.app.pool.entry(0)?.worker.pid;
      return pid && pid !== oldPid && server.app.pool.ready;
    });
    await waitFor(
      'ready again',
      async () => (await fetch(`${server.url}/readyz`)).status === 200 || undefined,
    );
    // The same session publishes again on a new send transport.
    const t = await ok<TransportOptions>(s, 'transport:create', { direction: 'send' });
    await expect(
      ok(s, 'producer:create', {
        transportId: t.id,
        kind: 'audio',
        source: 'microphone',
        rtpParameters: opusParameters(5),
      }),
    ).resolves.toMatchObject({ id: expect.any(String) });
    expect(s.connected).toBe(true);
    expect(closed).toBe(false);
    // And new joins negotiate as before.
    const again = await client('lao-cai');
    await expect(ok(again, 'session:join', {})).resolves.toMatchObject({ role: 'site' });
  });
});
