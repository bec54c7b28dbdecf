/**
 * Crash recovery: the real server process is killed with SIGKILL mid-session (a queue of 3,
 * a site on air, an agenda under way, a presentation holder) and started again on the same
 * data directory. The stored state must equal the state before (canonical dump), the minutes
 * must have lost nothing, and the participants must come back on their own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import type { ConferenceState, MinuteEntry } from '../../protocol/conference';
import { ARTIFACTS } from '../helpers/browser';
import { TEST_SECRET, credentialFor, testConfig } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(60_000);

const MAIN = path.join(__dirname, '..', '..', 'dist', 'server', 'src', 'main.js');
let dataDir: string;
let child: ChildProcess | undefined;
const sockets: Socket[] = [];

const { config } = testConfig();
const token = (who: string) => credentialFor(config, who, { ttlSec: 3600 });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts the server on a fixed port (so clients can reconnect to the same address). */
async function startServer(port: number): Promise<{ url: string; out: { text: string } }> {
  const out = { text: '' };
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOINGHI_')));
  child = spawn(process.execPath, [MAIN], {
    env: {
      ...clean,
      HOINGHI_HTTP_HOST: '127.0.0.1',
      HOINGHI_HTTP_PORT: String(port),
      HOINGHI_RTC_LISTEN_IP: '127.0.0.1',
      HOINGHI_RTC_PORT: '0',
      HOINGHI_WORKERS: '1',
      HOINGHI_DATA_DIR: dataDir,
      HOINGHI_SECRET: TEST_SECRET,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (out.text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out.text += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the server to be ready', async () => (await fetch(`${url}/readyz`)).ok || undefined, {
    timeoutMs: 20_000,
    missing: () => out.text.slice(-2000),
  });
  return { url, out };
}

/** A participant that joins on every (re)connection, as the browser client does. */
function participantThatRejoins(url: string, who: string): { socket: Socket; joins: () => number } {
  let joins = 0;
  const socket = io(url, {
    auth: { token: token(who) },
    transports: ['websocket'],
    reconnectionDelay: 200,
    reconnectionDelayMax: 500,
  });
  socket.on('connect', () => {
    // A join cut short by the test closing the socket is not an error of the server.
    (socket.emitWithAck('session:join', {}) as Promise<{ ok: boolean }>).then(
      (r) => {
        if (r.ok) joins += 1;
      },
      () => undefined,
    );
  });
  socket.on('consumer:added', (_o: unknown, ack: (r: unknown) => void) => ack({ ok: true, data: null }));
  sockets.push(socket);
  return { socket, joins: () => joins };
}

async function command(socket: Socket, event: string, payload: unknown = {}): Promise<void> {
  const res = (await socket.timeout(5000).emitWithAck(event, payload)) as { ok: boolean; error?: unknown };
  if (!res.ok) throw new Error(`${event}: ${JSON.stringify(res.error)}`);
}

async function dump(url: string): Promise<{ state: ConferenceState; minutes: MinuteEntry[] }> {
  const auth = { headers: { authorization: `Bearer ${token('operator')}` } };
  const { state } = (await (await fetch(`${url}/api/state`, auth)).json()) as { state: ConferenceState };
  const { minutes } = (await (await fetch(`${url}/api/minutes.json`, auth)).json()) as {
    minutes: MinuteEntry[];
  };
  return { state, minutes };
}

/** Keys sorted at every level: two dumps are equal exactly when their JSON text is. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : x,
  );
}

beforeAll(() => {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} missing: run "npm run build" (npm test does it)`);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-restart-'));
});

afterAll(() => {
  for (const s of sockets) s.close();
  if (child?.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('kill -9 and restart', () => {
  it('comes back with the same state and every minutes line; participants rejoin on their own', async () => {
    const port = await freePort();
    let server = await startServer(port);
    const who = ['chair', 'ha-noi', 'thua-thien-hue', 'da-nang', 'can-tho'];
    const people = who.map((w) => participantThatRejoins(server.url, w));
    await waitFor('everyone joined', () => people.every((p) => p.joins() === 1) || undefined);
    const chair = people[0]?.socket as Socket;

    await command(chair, 'conference:open');
    await command(chair, 'conference:start');
    await command(chair, 'agenda:set', {
      items: [
        { kind: 'opening', title: 'Khai mạc' },
        { kind: 'statement', title: 'Các tham luận', allottedSec: 420 },
        { kind: 'conclusion', title: 'Kết luận' },
      ],
    });
    await command(chair, 'agenda:goto', { index: 1 });
    for (const [i, code] of ['ha-noi', 'thua-thien-hue', 'da-nang', 'can-tho'].entries()) {
      await command(people[i + 1]?.socket as Socket, 'floor:request', { title: `Tham luận của ${code}` });
    }
    await command(chair, 'floor:next');
    await command(chair, 'presentation:give', { to: { kind: 'site', code: 'ha-noi' } });
    await command(chair, 'layout:set', { layout: 'speaker_presentation' });

    const before = await dump(server.url);
    expect(before.state.queue.map((r) => r.siteCode)).toEqual(['thua-thien-hue', 'da-nang', 'can-tho']);
    expect(before.state.onAir?.siteCode).toBe('ha-noi');

    process.kill(child?.pid as number, 'SIGKILL');
    await new Promise((resolve) => child?.once('exit', resolve));
    server = await startServer(port);
    const after = await dump(server.url);

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'restart-before.json'), canonical(before.state));
    fs.writeFileSync(path.join(ARTIFACTS, 'restart-after.json'), canonical(after.state));
    // The participants may already be rejoining while we read: their joins are recorded
    // (site.joined) and move the minutes counter, nothing else. So: the state equal but for
    // that counter, every earlier minutes line intact, and only joins after them.
    const { nextMinute: countBefore, ...restBefore } = before.state;
    const { nextMinute: countAfter, ...restAfter } = after.state;
    expect(canonical(restAfter)).toBe(canonical(restBefore));
    expect(after.minutes.slice(0, before.minutes.length)).toEqual(before.minutes);
    const since = after.minutes.slice(before.minutes.length).map((m) => m.type);
    expect(since.filter((t) => t !== 'site.joined' && t !== 'site.left')).toEqual([]);
    expect(countAfter).toBe(
      countBefore + after.minutes.slice(before.minutes.length).filter((m) => m.seq < countAfter).length,
    );
    expect(after.state.onAir?.endsAt).toBe(before.state.onAir?.endsAt);

    // The participants reconnect and join again without being told to.
    await waitFor(
      'everyone rejoined after the restart',
      () => people.every((p) => p.joins() === 2) || undefined,
      {
        timeoutMs: 20_000,
        missing: () => people.map((p) => p.joins()),
      },
    );
    await command(chair, 'floor:revoke');
  });
});
