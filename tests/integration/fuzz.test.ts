/**
 * Signalling abuse: at least 10,000 malformed or unknown events from several sockets
 * (wrong types, unknown keys, __proto__ keys, huge strings, deep nesting, binary
 * attachments, missing acks, unknown event names), then 2,000 frames written by hand with
 * the shapes a library client cannot even encode: arrays and objects nested 5,000–20,000
 * deep, 5,000 wide, alone or under a field the schema knows. The server must not crash, must
 * not leave an unhandled rejection, must not change the conference, and must keep serving.
 * Then a flood from one socket at the default rate limit: it is throttled while the chair
 * is still served. Figures go to test-artifacts/fuzz.json and fuzz-deep.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CLIENT_EVENTS } from '../../protocol/events';
import { ARTIFACTS } from '../helpers/browser';
import { type Participant, participant } from '../helpers/conferenceClient';
import { firstField, hostile, rawConnect } from '../helpers/rawSocket';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { type TestSocket, connect, request } from '../helpers/wsClient';

jest.setTimeout(120_000);

const EVENTS = 10_000;
const SOCKETS = 5;

/** A deterministic pseudo-random generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function deep(n: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
}

/** A payload that no schema accepts: every object carries an unknown key, or the type is wrong. */
function badPayload(r: () => number): unknown {
  const pick = Math.floor(r() * 14);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return 42;
    case 2:
      return 'x'.repeat(Math.floor(r() * 200_000));
    case 3:
      return [1, 2, 3];
    case 4:
      return JSON.parse('{"__proto__": {"polluted": true}, "title": "x"}') as unknown;
    case 5:
      return { constructor: { prototype: { polluted: true } }, requestId: 'r1' };
    case 6:
      return deep(40 + Math.floor(r() * 60));
    case 7:
      return Buffer.from('binary attachment');
    case 8:
      return { title: 'x', extra: true };
    case 9:
      return { requestId: 123, toIndex: 'first' };
    case 10:
      return { direction: 'send', transportId: 'x'.repeat(70) };
    case 11:
      return { layout: 'everything', zz: 1 };
    case 12:
      return { title: '\u0000\u0007bell', siteCode: 'ha-noi', x: [] };
    default:
      return { to: { kind: 'site', code: 'HÀ NỘI' }, unknown: {} };
  }
}

let server: TestServer;
let chair: Participant;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  server = await startTestServer({ signaling: { ratePerSec: 100_000, burst: 100_000 } });
  chair = await participant(server, 'chair');
  await chair.must('conference:open');
  await chair.must('conference:start');
  await chair.must('floor:request', { title: 'Tham luận', siteCode: 'ha-noi' });
});

afterAll(async () => {
  chair?.close();
  await server?.stop();
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
});

describe('signalling fuzz', () => {
  it(`${EVENTS} malformed and unknown events from ${SOCKETS} sockets: no crash, nothing changed, still serving`, async () => {
    const r = rng(20260713);
    const sockets: TestSocket[] = [];
    const codes = ['ha-noi', 'da-nang', 'hai-phong', 'can-tho', 'lao-cai'];
    for (let i = 0; i < SOCKETS; i++) {
      const s = await connect(server.url, server.token(codes[i] as string));
      if (i % 2 === 0) await request(s, 'session:join', {}); // some joined, some not
      sockets.push(s);
    }
    const before = structuredClone(server.app.service.state);
    const minutesBefore = server.app.service.minutes().length;
    const heapBefore = process.memoryUsage().heapUsed;
    const answers = new Map<string, number>();
    let acked = 0;
    const pending: Promise<void>[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const s = sockets[i % SOCKETS] as TestSocket;
      const unknown = r() < 0.2;
      const event = unknown
        ? `${['floor', 'x', '__proto__', 'constructor'][i % 4]}:${i}`
        : (CLIENT_EVENTS[Math.floor(r() * CLIENT_EVENTS.length)] as string);
      const payload = badPayload(r);
      if (r() < 0.15) {
        s.emit(event, payload); // no acknowledgement callback
        continue;
      }
      pending.push(
        (
          s.timeout(20_000).emitWithAck(event, payload) as Promise<{ ok: boolean; error?: { code: string } }>
        ).then(
          (res) => {
            acked += 1;
            const code = res.ok ? 'ACCEPTED' : (res.error?.code ?? '?');
            answers.set(code, (answers.get(code) ?? 0) + 1);
          },
          () => {
            answers.set('NO_ANSWER', (answers.get('NO_ANSWER') ?? 0) + 1);
          },
        ),
      );
      if (pending.length >= 400) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);

    // Still serving: the chair's command goes through and the others still get the state.
    await chair.must('layout:set', { layout: 'grid' });
    const after = structuredClone(server.app.service.state);
    for (const s of sockets) s.close();

    const report = {
      events: EVENTS,
      sockets: SOCKETS,
      acked,
      answers: Object.fromEntries(answers),
      unhandled: unhandled.length,
      heapGrowthMiB: Math.round(((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20) * 10) / 10,
    };
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'fuzz.json'), JSON.stringify(report, null, 2));

    expect(unhandled).toEqual([]);
    expect(answers.get('ACCEPTED') ?? 0).toBe(0);
    expect(answers.get('INTERNAL') ?? 0).toBe(0);
    expect(acked).toBeGreaterThan(EVENTS * 0.5);
    // Nothing changed but the layout the chair set afterwards, and the joins of the fuzzing sites.
    expect({ ...after, layout: before.layout, nextMinute: 0 }).toEqual({ ...before, nextMinute: 0 });
    const newMinutes = server.app.service
      .minutes()
      .slice(minutesBefore)
      .map((m) => m.type);
    expect(newMinutes.filter((t) => t !== 'site.joined' && t !== 'site.left')).toEqual(['layout.changed']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('deep and wide shapes, written by hand', () => {
  const FRAMES = 2_000;

  it(`${FRAMES} frames nested 5,000–20,000 deep or 5,000 wide, in every event: all refused, no crash, nothing changed`, async () => {
    const r = rng(13072021);
    const codes = ['quang-ninh', 'nghe-an', 'lao-cai'];
    const sockets = codes.map((c) => rawConnect(server.url, JSON.stringify({ token: server.token(c) })));
    for (const [i, s] of sockets.entries()) {
      expect(await s.connected).toEqual({ ok: true });
      if (i !== 1) expect((await s.request('session:join', '{}')).ok).toBe(true);
    }
    const before = structuredClone(server.app.service.state);
    const answers = new Map<string, number>();
    const shapes = new Map<string, number>();
    let maxDepth = 0;
    const pending: Promise<void>[] = [];
    for (let i = 0; i < FRAMES; i++) {
      const event = CLIENT_EVENTS[Math.floor(r() * CLIENT_EVENTS.length)] as string;
      const field = firstField(event);
      const depth = 5_000 + Math.floor(r() * 15_001);
      const pick = Math.floor(r() * 6);
      const [kind, text] = [
        ['deep array', hostile.deepArray(depth)],
        ['deep object', hostile.deepObject(depth)],
        ['deep array in a field', hostile.deepInField(field, depth)],
        ['deep object in a field', `{${JSON.stringify(field)}:${hostile.deepObject(depth)}}`],
        ['wide array', hostile.wideArray(5_000)],
        ['wide object', hostile.wideObject(5_000)],
      ][pick] as [string, string];
      if (kind.startsWith('deep')) maxDepth = Math.max(maxDepth, depth);
      shapes.set(kind, (shapes.get(kind) ?? 0) + 1);
      pending.push(
        (sockets[i % sockets.length] as ReturnType<typeof rawConnect>)
          .request(event, text, 30_000)
          .then((a) => {
            const code = a.ok ? 'ACCEPTED' : (a.error?.code ?? '?');
            answers.set(code, (answers.get(code) ?? 0) + 1);
          }),
      );
      if (pending.length >= 100) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    await chair.must('layout:set', { layout: 'speaker' });
    for (const s of sockets) s.close();
    const report = {
      frames: FRAMES,
      sockets: sockets.length,
      shapes: Object.fromEntries(shapes),
      maxDepth,
      answers: Object.fromEntries(answers),
      unhandled: unhandled.length,
    };
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'fuzz-deep.json'), JSON.stringify(report, null, 2));
    expect(unhandled).toEqual([]);
    expect(answers.get('BAD_REQUEST')).toBe(FRAMES);
    expect(maxDepth).toBeGreaterThanOrEqual(10_000);
    const after = structuredClone(server.app.service.state);
    expect({ ...after, layout: before.layout, nextMinute: 0 }).toEqual({ ...before, nextMinute: 0 });
  });
});

describe('a flood from one socket', () => {
  it('is throttled with RATE_LIMITED, then disconnected when it keeps on, while the chair is still served', async () => {
    const flooded = await startTestServer({ signaling: { ratePerSec: 50, burst: 100 } });
    try {
      const boss = await participant(flooded, 'chair');
      const flooder = await connect(flooded.url, flooded.token('hai-phong'));
      const cut = new Promise<string>((resolve) => flooder.on('disconnect', (reason) => resolve(reason)));
      const floods = Array.from({ length: 2000 }, () =>
        request(flooder, 'floor:revoke', {}).catch(() => null),
      );
      const chairAck = await boss.send('conference:open', {});
      const results = await Promise.all(floods);
      const limited = results.filter((r) => r && !r.ok && r.error.code === 'RATE_LIMITED').length;
      expect(chairAck).toEqual({ ok: true, data: null });
      // The burst is answered, then refusals until the socket has sent four bursts' worth of
      // frames or of refusals; then it is cut and the rest of its frames go unanswered.
      expect(limited).toBeGreaterThanOrEqual(250);
      expect(limited).toBeLessThan(600);
      expect(results.filter((r) => r === null).length).toBeGreaterThan(1000);
      await expect(cut).resolves.toBe('io server disconnect');
      expect(await boss.send('layout:set', { layout: 'grid' })).toEqual({ ok: true, data: null });
      boss.close();
    } finally {
      await flooded.stop();
    }
  });
});
