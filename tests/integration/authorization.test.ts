/**
 * Authorization matrix: every chair-only and chair-or-operator command, sent with every kind of
 * credential that must not be enough. Each attempt must be refused and leave the stored state
 * exactly as it was. The figures are written to test-artifacts/authorization-matrix.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ConferenceState } from '../../protocol/conference';
import type { ErrorCode } from '../../protocol/events';
import { ARTIFACTS } from '../helpers/browser';
import { type Participant, participant, seen } from '../helpers/conferenceClient';
import { TEST_SECRET, type TestServer, startTestServer } from '../helpers/testServer';
import { connect, request } from '../helpers/wsClient';

let server: TestServer;
let chair: Participant;

/** Commands only the chair holder may give, with payloads that would succeed for the chair. */
const CHAIR_ONLY: [string, Record<string, unknown>][] = [
  ['conference:conclude', {}],
  ['floor:reorder', { requestId: 'r2', toIndex: 0 }],
  ['floor:grant', { requestId: 'r1' }],
  ['floor:next', {}],
  ['floor:skip', { requestId: 'r1' }],
  ['floor:reject', { requestId: 'r1' }],
  ['floor:revoke', {}],
  ['floor:extend', { seconds: 60 }],
  ['presentation:give', { to: { kind: 'site', code: 'ha-noi' } }],
  ['agenda:next', {}],
  ['agenda:goto', { index: 1 }],
  ['agenda:grant', {}],
  ['layout:set', { layout: 'grid' }],
];
/** Commands the chair or an operator may give. */
const CHAIR_OR_OPERATOR: [string, Record<string, unknown>][] = [
  ['agenda:set', { items: [{ kind: 'other', title: 'Mục mới' }] }],
  ['rollcall:mark', { siteCode: 'thua-thien-hue', status: 'absent' }],
  ['chair:handover', { to: 'cochair' }],
  ['floor:request', { title: 'Thay mặt điểm cầu', siteCode: 'lao-cai' }],
];

type Caller = {
  name: string;
  connectsAs?: string;
  token: () => string | undefined;
  forbiddenFor: 'all' | 'chair-only';
};

function tamper(token: string): string {
  const [h, p, sig] = token.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  payload.role = 'chair';
  payload.site = 'trung-uong';
  payload.sub = 'chair';
  return `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`;
}

const CALLERS: Caller[] = [
  { name: 'site credential', connectsAs: 'ha-noi', token: () => server.token('ha-noi'), forbiddenFor: 'all' },
  {
    name: 'video wall credential',
    connectsAs: 'wall',
    token: () => server.token('wall'),
    forbiddenFor: 'all',
  },
  {
    name: 'co-chair not holding the chair',
    connectsAs: 'cochair',
    token: () => server.token('cochair'),
    forbiddenFor: 'chair-only',
  },
  {
    name: 'operator credential',
    connectsAs: 'operator',
    token: () => server.token('operator'),
    forbiddenFor: 'chair-only',
  },
  {
    name: 'expired chair credential',
    token: () => server.token('chair', { ttlSec: 60, now: Date.now() - 3_600_000 }),
    forbiddenFor: 'all',
  },
  {
    name: 'chair credential of another conference',
    token: () => server.token('chair', { conf: 'hoi-nghi-khac' }),
    forbiddenFor: 'all',
  },
  {
    name: 'chair credential signed with another secret',
    token: () => server.token('chair', { secret: `${TEST_SECRET}-other` }),
    forbiddenFor: 'all',
  },
  {
    name: 'site credential tampered into a chair',
    token: () => tamper(server.token('ha-noi')),
    forbiddenFor: 'all',
  },
  { name: 'no credential', token: () => undefined, forbiddenFor: 'all' },
];

/** The stored state, less the minutes counter: a site connecting is itself recorded (site.joined). */
const stored = (): Omit<ConferenceState, 'nextMinute'> => {
  const { nextMinute: _n, ...rest } = structuredClone(server.app.service.state);
  return rest;
};
const commandMinutes = (from: number) =>
  server.app.service
    .minutes()
    .slice(from)
    .filter((m) => m.type !== 'site.joined' && m.type !== 'site.left');

beforeAll(async () => {
  server = await startTestServer();
  chair = await participant(server, 'chair');
  // A conference in full swing: session started, agenda running, a queue, a site on air.
  await chair.must('conference:open');
  await chair.must('conference:start');
  await chair.must('agenda:set', {
    items: [
      { kind: 'opening', title: 'Khai mạc' },
      { kind: 'statement', title: 'Tham luận', speakerSite: 'da-nang', allottedSec: 300 },
    ],
  });
  await chair.must('agenda:next');
  for (const code of ['ha-noi', 'hue', 'can-tho']) {
    await chair.must('floor:request', {
      title: `Tham luận ${code}`,
      siteCode: code === 'hue' ? 'thua-thien-hue' : code,
    });
  }
  await chair.must('floor:next');
  await chair.must('floor:request', { title: 'Tham luận Hải Phòng', siteCode: 'hai-phong' });
  await seen(chair, 'the set-up', (s) => s.onAir !== null && s.queue.length === 3);
});

afterAll(async () => {
  chair?.close();
  await server?.stop();
});

describe('authorization matrix', () => {
  it('refuses every privileged command from every insufficient credential, changing nothing', async () => {
    const before = stored();
    const minutesBefore = server.app.service.minutes().length;
    const rows: { caller: string; command: string; refused: boolean; code: string }[] = [];
    for (const caller of CALLERS) {
      const token = caller.token();
      let socket: Awaited<ReturnType<typeof connect>> | undefined;
      let refusedAtHandshake: string | undefined;
      try {
        socket = await connect(server.url, token);
        await request(socket, 'session:join', {});
      } catch (e) {
        refusedAtHandshake = (e as { code?: string }).code ?? 'REFUSED';
      }
      const commands = caller.forbiddenFor === 'all' ? [...CHAIR_ONLY, ...CHAIR_OR_OPERATOR] : CHAIR_ONLY;
      for (const [event, payload] of commands) {
        if (!socket) {
          rows.push({
            caller: caller.name,
            command: event,
            refused: true,
            code: refusedAtHandshake as string,
          });
          continue;
        }
        const res = await request(socket, event, payload);
        const code: ErrorCode | 'ACCEPTED' = res.ok ? 'ACCEPTED' : res.error.code;
        rows.push({ caller: caller.name, command: event, refused: !res.ok, code });
      }
      socket?.close();
      expect(stored()).toEqual(before);
    }
    const refused = rows.filter((r) => r.refused).length;
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(
      path.join(ARTIFACTS, 'authorization-matrix.json'),
      JSON.stringify({ refused, total: rows.length, rows }, null, 2),
    );
    expect(rows.filter((r) => !r.refused)).toEqual([]);
    expect(refused).toBe(rows.length);
    expect(rows.length).toBe(7 * (CHAIR_ONLY.length + CHAIR_OR_OPERATOR.length) + 2 * CHAIR_ONLY.length);
    // Connected callers get FORBIDDEN; the rest never get past the handshake.
    expect(new Set(rows.map((r) => r.code))).toEqual(
      new Set(['FORBIDDEN', 'AUTH_EXPIRED', 'AUTH_INVALID_TOKEN', 'AUTH_REQUIRED']),
    );
    expect(stored()).toEqual(before);
    expect(commandMinutes(minutesBefore)).toEqual([]);
  });

  it('the same commands succeed for the chair (the matrix is not refusing everything)', async () => {
    const res = await chair.send('layout:set', { layout: 'grid' });
    expect(res).toEqual({ ok: true, data: null });
    await chair.must('floor:extend', { seconds: 60 });
    await chair.must('rollcall:mark', { siteCode: 'thua-thien-hue', status: 'absent' });
    expect(server.app.service.state.layout).toBe('grid');
  });
});
