/**
 * Load benchmark: N synthetic halls with real WebRTC (bench/loadgen) against the real server
 * process, in steps (8, 16, 32, 48, 63, … up to --sites), each held --seconds while a synthetic
 * chair moves the floor to another hall every 10 s and switches the layout. Per step: CPU of each
 * mediasoup worker, of the server's Node process and of the generators; packets in and out;
 * worker CPU-µs per forwarded packet; programme audio and video delivered ÷ expected; join
 * p50/p90; chair command ack p50/p99; grant → first audio packet at the other halls p50/p90; bytes
 * per conference:state push; halls disconnected; UDP drops at the worker sockets. Then the knee
 * (first N with delivery < 99.9 %, a worker over 85 % of a core, or ack p99 > 250 ms) and
 * headroom = knee ÷ 64. Writes bench/results/load.json and load.svg.
 *
 * Real Chromium takes part throughout: a wall page (every hall's tile) and a chair console page
 * (the co-chair's: the synthetic chair holds the chair, so that what the programme sends is
 * counted exactly); their received video is counted from their own getStats().
 *
 * After the steps, with the largest N: the server is restarted (SIGTERM, started again on the
 * same port and data) and every hall, the chair and the pages rejoin on their own; then every hall
 * leaves and all open their links again within 5 s (the join storm). Both give join and
 * "programme again" p50/p90.
 *
 *   npm run bench -- load [--sites 63] [--seconds 30] [--hold 300] [--generators 2] [--no-browser]
 *                         [--halls-nice 10] [--pages-nice 10]
 *
 * --hold: how long the largest step runs (the 5-minute run at 63). --out NAME: results in
 * bench/results/NAME.json and NAME.svg.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { GeneratorOrder, GeneratorReport, SiteStats } from './loadgen/generator';
import { SyntheticSite, request } from './loadgen/syntheticSite';
import { loadLayers, nominalPacketsPerSecond } from './loadgen/rtp';
import { type PageInbound, inboundStats, launchBrowser, openPage } from '../tests/helpers/browser';
import { type ServerProcess, processToken, startServerProcess } from '../tests/helpers/serverProcess';
import { waitFor } from '../tests/helpers/waitFor';
import { loadRoster } from '../server/src/app';
import { machine } from './machine';
import { allUdpSockets, processSocketInodes } from '../server/src/media/udpHealth';
import { median, percentile, round } from './stats';

const FLOOR_EVERY_MS = 10_000;
const CLK_TCK = 100;
/**
 * The storm's links are set to open over 4 s from one moment shared by the generators, so that
 * late timers on a busy machine (a generator's event loop is busy with the handshakes of the
 * halls already opening) still open them all within 5 s (measured: opened_within_ms; 5.3 s when
 * each generator counted from its own receipt of the order, over 4.5 s).
 */
const STORM_PLAN_MS = 4000;

/** A positive whole-number option `--name N` of the benchmark command line. */
export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} needs a positive whole number`);
  return v;
}

/** The fields of /proc/PID/stat after the command name (state first); null when it is gone. */
function procStat(pid: number | string): string[] | null {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? null;
  } catch {
    return null;
  }
}

/** Received packets handed to werift to decrypt and authenticate between two snapshots, and those that passed. */
function srtpSampled(a: Snapshot, b: Snapshot): { checked: number; verified: number } {
  const sum = (s: Snapshot, k: 'checked' | 'verified') =>
    s.sites.reduce((n, x) => n + x.received.reduce((m, r) => m + r[k], 0), 0);
  return {
    checked: sum(b, 'checked') - sum(a, 'checked'),
    verified: sum(b, 'verified') - sum(a, 'verified'),
  };
}

/** The processes below `pid` (Chromium's renderers and helpers), from /proc. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of fs.readdirSync('/proc')) {
    const f = /^\d+$/.test(d) ? procStat(d) : null;
    if (f) parent.set(Number(d), Number(f[1]));
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop() as number;
    for (const [child, pp] of parent) {
      if (pp !== p) continue;
      out.push(child);
      todo.push(child);
    }
  }
  return out;
}

/**
 * Lowers the CPU priority of a process: its scheduling group (with autogroups, on by default in
 * Debian's kernel, each session is one group and nice works only inside it, so Chromium's own
 * session would take half the machine whatever its nice) and every thread (Linux applies nice
 * per thread; threads started later inherit it). The load runs on the machine it measures: below
 * the server's priority the generators and Chromium take what the server under test leaves, as
 * they would on their own machines, instead of starving it into drops that are theirs.
 */
export function lowerPriority(pid: number, nice: number): void {
  try {
    const group = fs.readFileSync(`/proc/${pid}/autogroup`, 'utf8');
    if (!group.includes(`nice ${nice}`)) fs.writeFileSync(`/proc/${pid}/autogroup`, String(nice));
  } catch {
    // no autogroups here, or the process is gone
  }
  let tids: string[] = [];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return; // gone
  }
  for (const tid of tids) {
    try {
      if (os.getPriority(Number(tid)) < nice) os.setPriority(Number(tid), nice);
    } catch {
      // the thread ended meanwhile
    }
  }
}

/** utime + stime of a process, in µs (from /proc; 0 when it is gone). */
function cpuMicros(pid: number): number {
  const f = procStat(pid);
  return f ? ((Number(f[11]) + Number(f[12])) / CLK_TCK) * 1e6 : 0;
}

export class Generator {
  readonly child: ChildProcess;
  #waiting: ((r: GeneratorReport) => void)[] = [];
  constructor() {
    // Its own session (so its own scheduling group, which lowerPriority can lower apart from
    // the server's); it ends with its IPC channel.
    this.child = fork(path.join(__dirname, 'loadgen', 'generator.js'), {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      detached: true,
    });
    this.child.on('message', (r: GeneratorReport) => this.#waiting.shift()?.(r));
  }
  ask<T extends GeneratorReport>(order: GeneratorOrder): Promise<T> {
    return new Promise((resolve) => {
      this.#waiting.push((r) => resolve(r as T));
      this.child.send(order);
    });
  }
  stop(): void {
    this.child.send({ type: 'stop' } satisfies GeneratorOrder);
  }
}

interface Snapshot {
  at: number;
  server: number;
  workers: { pid: number; cpu: number }[];
  generators: number;
  sites: SiteStats[];
  chairSent: { microphone: number; camera: Record<string, number> };
  chairReceived: number;
  browser: number;
  drops: number;
  /** Drops at the receivers' own sockets: Chromium's, the generators'. */
  receiverDrops: { chromium: number; generators: number };
  pages: Record<string, PageInbound[]>;
}

interface Health {
  sockets: { pid: number; drops: number; pipes: { drops: number } }[];
  receiveBuffer: { rmemDefault: number | null };
  dropsSinceStart: number;
}

/** A Chromium console page and the states its controller went through. */
interface ConsolePage {
  name: string;
  page: Page;
}

async function watchStates(page: Page): Promise<void> {
  await waitFor('the page controller', () =>
    page.evaluate(() => Boolean((window as unknown as { hoinghi?: unknown }).hoinghi)).catch(() => false),
  );
  await page.evaluate(() => {
    const w = window as unknown as {
      hoinghi: { client: { on(e: string, f: (s: string) => void): void } };
      states: string[];
    };
    w.states = [];
    w.hoinghi.client.on('state', (s) => w.states.push(s));
  });
}

const pageStates = (page: Page) =>
  page.evaluate(() => ({
    now: (window as unknown as { hoinghi: { client: { state: string } } }).hoinghi.client.state,
    seen: (window as unknown as { states: string[] }).states,
  }));

/** Received video at a page over a window: delivered (received ÷ received + lost) and tiles decoding. */
function pageVideo(a: PageInbound[], b: PageInbound[], sites: Set<string>) {
  let got = 0;
  let lost = 0;
  let decoding = 0;
  for (const x of b) {
    if (x.kind !== 'video') continue;
    const y = a.find((z) => z.consumerId === x.consumerId);
    got += x.packetsReceived - (y?.packetsReceived ?? 0);
    lost += Math.max(0, x.packetsLost - (y?.packetsLost ?? 0));
    if ((sites.has(x.siteCode) || x.role === 'chair') && x.framesDecoded > (y?.framesDecoded ?? 0))
      decoding += 1;
  }
  return {
    tiles_expected: sites.size + 1,
    tiles_decoding: decoding,
    video_delivered: got + lost ? round(got / (got + lost), 5) : null,
    packets_received: got,
    packets_lost: lost,
  };
}

/**
 * Datagrams the kernel dropped at the UDP sockets of these processes because they did not read
 * them in time (their own receive buffers: Chromium sets 256 KB for WebRTC), from /proc/net/udp.
 * A receiver starved of CPU on this machine loses packets there, after the server sent them.
 */
function socketDrops(pids: number[]): number {
  const inodes = new Set<number>();
  for (const pid of pids) for (const i of processSocketInodes(pid) ?? []) inodes.add(i);
  return allUdpSockets().reduce((n, s) => n + (inodes.has(s.inode) ? s.drops : 0), 0);
}

export async function benchLoad(): Promise<Record<string, unknown>> {
  const maxSites = arg('sites', 63);
  const seconds = arg('seconds', 30);
  const hold = arg('hold', 300);
  const nGen = arg('generators', 2);
  // The load's priority below the server's (nice 10 for the halls and the pages alike; at 19 the
  // pages, starved behind the halls, missed the server's 5 s heartbeat and reconnected).
  const niceOf = (name: string, fallback: number) => {
    const i = process.argv.indexOf(`--${name}`);
    const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
    if (!Number.isInteger(v) || v < 0 || v > 19)
      throw new Error(`--${name} needs a whole number from 0 to 19`);
    return v;
  };
  const hallsNice = niceOf('halls-nice', 10);
  const pagesNice = niceOf('pages-nice', 10);
  const steps = [...new Set([8, 16, 32, 48, 63, 80, 96, 128].filter((n) => n < maxSites).concat(maxSites))];
  const roster = loadRoster('vn-2021').sites.filter((s) => s.kind !== 'central');
  if (maxSites > roster.length)
    throw new Error(`the roster has ${roster.length} halls; --sites ${maxSites} is more`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-bench-load-'));
  let server: ServerProcess = await startServerProcess(dir, { HOINGHI_WORKERS: '0' });
  const port = new URL(server.url).port;
  const browserPids = () => {
    return descendants(process.pid).filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('chrom');
      } catch {
        return false;
      }
    });
  };

  const generators = Array.from({ length: nGen }, () => new Generator());
  const lowerLoad = () => {
    if (hallsNice > 0) for (const g of generators) if (g.child.pid) lowerPriority(g.child.pid, hallsNice);
    if (pagesNice > 0) for (const pid of browserPids()) lowerPriority(pid, pagesNice);
  };
  const health = async (): Promise<Health> =>
    (
      (await (
        await fetch(`${server.url}/api/health`, {
          headers: { authorization: `Bearer ${processToken('operator')}` },
        })
      ).json()) as { media: Health }
    ).media;
  let statePushes = 0;
  let stateBytes = 0;
  let onAir: string | null = null;
  /** The halls on air during a step's window: the chair's console has live pictures of those only. */
  const onAirSeen = new Set<string>();
  const chair = await new SyntheticSite(server.url, processToken('chair'), 'chair', {
    reconnect: true,
    onSocket: (socket) =>
      socket.on('conference:state', (p: { state: { onAir: { siteCode: string } | null } }) => {
        statePushes += 1;
        stateBytes += JSON.stringify(p).length;
        onAir = p.state.onAir?.siteCode ?? null;
        if (onAir) onAirSeen.add(onAir);
      }),
  }).start();
  await request(chair.socket, 'conference:open', {});
  await request(chair.socket, 'conference:start', {});
  const rmem = (await health()).receiveBuffer.rmemDefault;

  // Real Chromium: the wall, and a chair console.
  let browser: Browser | undefined;
  const pages: ConsolePage[] = [];
  if (!process.argv.includes('--no-browser')) {
    browser = await launchBrowser();
    pages.push({
      name: 'wall',
      page: (await openPage(browser, `${server.url}/wall#t=${processToken('wall')}`)).page,
    });
    pages.push({
      name: 'chair_console',
      page: (await openPage(browser, `${server.url}/chair?q=low#t=${processToken('cochair')}`)).page,
    });
    for (const p of pages) await watchStates(p.page);
  }
  lowerLoad();
  const where = new Map<string, Generator>();
  const generatorStats = () =>
    Promise.all(generators.map((g) => g.ask<Extract<GeneratorReport, { type: 'stats' }>>({ type: 'stats' })));
  const siteStats = async () => (await generatorStats()).flatMap((s) => s.sites);
  const snapshot = async (): Promise<Snapshot> => {
    lowerLoad(); // threads started since (Chromium's, a restarted page's)
    const media = await health(); // the worker pids and the server sockets' drops
    const stats = await generatorStats();
    // What the chair sent, read right after what the halls received (not after the slower reads
    // below): otherwise packets still on their way count as lost. Every CPU counter is read at
    // the same moment as the generators' own, before the pages' (slow) statistics.
    const chairSent = chair.sent();
    const at = performance.now();
    const cpu = {
      server: cpuMicros(server.child.pid as number),
      workers: media.sockets.map((s) => ({ pid: s.pid, cpu: cpuMicros(s.pid) })),
      browser: browserPids().reduce((n, pid) => n + cpuMicros(pid), 0),
    };
    const pageStats: Record<string, PageInbound[]> = {};
    for (const p of pages) pageStats[p.name] = await inboundStats(p.page).catch(() => []);
    return {
      at,
      ...cpu,
      generators: stats.reduce((n, s) => n + s.cpuMicros, 0),
      sites: stats.flatMap((s) => s.sites),
      chairSent,
      chairReceived: chair.received().reduce((n, r) => n + r.packets, 0),
      drops: media.dropsSinceStart,
      receiverDrops: {
        chromium: socketDrops(browserPids()),
        generators: socketDrops(generators.map((g) => g.child.pid ?? 0)),
      },
      pages: pageStats,
    };
  };

  // What the halls and the chair would send at full rate; on this machine they may send less.
  const nominalPps = nominalPacketsPerSecond(loadLayers());
  const results: Record<string, unknown>[] = [];
  const extra: Record<string, unknown> = {};
  let granted = 0;
  try {
    for (const n of steps) {
      // Join the halls this step adds, spread over the generators.
      const adding = roster.slice(where.size, n);
      const shares = generators.map((_, i) => adding.filter((_, j) => j % generators.length === i));
      const added = await Promise.all(
        generators.map((g, i) =>
          g.ask<Extract<GeneratorReport, { type: 'added' }>>({
            type: 'add',
            url: server.url,
            sites: (shares[i] ?? []).map((s) => ({ code: s.code, token: processToken(s.code) })),
          }),
        ),
      );
      shares.forEach((share, i) => share.forEach((s) => where.set(s.code, generators[i] as Generator)));
      const joins = added.flatMap((a) => a.joins.map((j) => j.ms));
      const failed = added.flatMap((a) => a.failed);

      const pushes0 = statePushes;
      const bytes0 = stateBytes;
      const a = await snapshot();
      onAirSeen.clear();
      if (onAir) onAirSeen.add(onAir);
      const acks: number[] = [];
      const grants: { code: string; at: number }[] = [];
      const end = performance.now() + (n === maxSites ? hold : seconds) * 1000;
      let layout = 0;
      while (performance.now() < end) {
        const cycle = performance.now();
        const code = roster[granted % n]?.code as string;
        granted += 1;
        const timed = async (event: string, payload: unknown) => {
          const t0 = performance.now();
          await request(chair.socket, event, payload).catch(() => undefined);
          acks.push(performance.now() - t0);
        };
        if (onAir) await timed('floor:revoke', {});
        await where.get(code)?.ask({ type: 'request', code, title: 'Tham luận' });
        const at = Date.now();
        await timed('floor:next', {});
        grants.push({ code, at });
        await timed('layout:set', { layout: ['speaker', 'speaker_presentation', 'grid'][layout++ % 3] });
        const wait = Math.min(FLOOR_EVERY_MS - (performance.now() - cycle), end - performance.now());
        if (wait > 0) await new Promise((r) => setTimeout(r, wait)); // the pace of the chair, not a wait for a condition
      }
      const b = await snapshot();
      const wallMicros = (b.at - a.at) * 1000;

      // Programme delivery. Audio: every hall should get all of the chair's microphone (counted
      // against what the chair sent). Video: the chair's and the speakers' cameras at every hall,
      // by the sequence numbers of what the server forwarded (layers change with the floor).
      const bySeq = (s: Snapshot, code: string, source: string) => {
        const rs = s.sites.find((x) => x.code === code)?.received.filter((r) => r.source === source) ?? [];
        return {
          got: rs.reduce((k, r) => k + r.packets, 0),
          expected: rs.reduce((k, r) => k + r.expected, 0),
        };
      };
      // What arrived of what the server forwarded to the halls over the step, by sequence numbers.
      const forwarded = (source: string) => {
        let got = 0;
        let expected = 0;
        for (const x of b.sites) {
          const now = bySeq(b, x.code, source);
          const then = bySeq(a, x.code, source);
          got += now.got - then.got;
          expected += now.expected - then.expected;
        }
        return { got, expected };
      };
      // Audio as forwarded (the chair's and the speakers'), by sequence numbers like the video.
      const { got: gotAudioSeq, expected: expectedAudioSeq } = forwarded('microphone');
      const { got: gotVideo, expected: expectedVideo } = forwarded('camera');
      const halls = b.sites.map((s) => s.code);
      // Audio against what the chair sent, by the chair's own RTP timestamps (960 ticks a packet,
      // kept by the server): counting the chair's sent packets instead would take a hall's
      // backlog (packets on their way or in its socket) for loss.
      let gotAudio = 0;
      let expectedAudio = 0;
      for (const x of b.sites) {
        const mic = (s: Snapshot) =>
          s.sites
            .find((y) => y.code === x.code)
            ?.received.find((r) => r.from === 'chair' && r.source === 'microphone' && !r.closed);
        const rb = mic(b);
        if (!rb) continue;
        const ra = mic(a);
        // The same consumer with packets at both ends; else this one from its first packet.
        const same = ra?.consumerId === rb.consumerId && (ra?.packets ?? 0) > 0;
        gotAudio += rb.packets - (same ? (ra?.packets ?? 0) : 0);
        expectedAudio += ((rb.lastTs - (same ? (ra?.lastTs ?? 0) : rb.firstTs)) >>> 0) / 960 + (same ? 0 : 1);
      }
      const sentTotal = (s: Snapshot) =>
        s.sites.reduce(
          (k, x) => k + x.sent.microphone + Object.values(x.sent.camera).reduce((y, z) => y + z, 0),
          0,
        ) +
        s.chairSent.microphone +
        Object.values(s.chairSent.camera).reduce((y, z) => y + z, 0);
      const recvTotal = (s: Snapshot) =>
        s.sites.reduce((k, x) => k + x.received.reduce((y, r) => y + r.packets, 0), 0) + s.chairReceived;
      const ingress = sentTotal(b) - sentTotal(a);
      const egress = recvTotal(b) - recvTotal(a);
      const workerCpu = b.workers.map((w) => {
        const before = a.workers.find((x) => x.pid === w.pid)?.cpu ?? w.cpu;
        return round(((w.cpu - before) / wallMicros) * 100, 1);
      });
      const workerMicros = b.workers.reduce(
        (k, w) => k + w.cpu - (a.workers.find((x) => x.pid === w.pid)?.cpu ?? w.cpu),
        0,
      );
      // Grant → first audio packet of the new speaker at every other hall.
      const grantLatency = grants.flatMap((g) =>
        b.sites
          .filter((s) => s.code !== g.code)
          .flatMap((s) =>
            s.received.filter(
              (r) =>
                r.from === g.code &&
                r.source === 'microphone' &&
                r.firstAt !== null &&
                (r.firstAt as number) >= g.at - 5,
            ),
          )
          .map((r) => (r.firstAt as number) - g.at),
      );
      const step = {
        sites: n,
        joined: b.sites.length,
        joinFailures: failed.length,
        join_ms: joins.length ? { p50: round(median(joins), 0), p90: round(percentile(joins, 90), 0) } : null,
        seconds: round(wallMicros / 1e6, 1),
        cpu_percent_of_a_core: {
          workers: workerCpu,
          server_node: round(((b.server - a.server) / wallMicros) * 100, 1),
          generators: round(((b.generators - a.generators) / wallMicros) * 100, 1),
          chromium: round(((b.browser - a.browser) / wallMicros) * 100, 1),
        },
        // Microphone packets the halls sent ÷ one per 20 ms each: below 1, the generators did not
        // get the CPU to keep time and the server carried less than the halls' real load.
        halls_send_pace: round(
          (b.sites.reduce((k, x) => k + x.sent.microphone, 0) -
            a.sites.reduce((k, x) => k + x.sent.microphone, 0)) /
            (b.sites.length * 50 * (wallMicros / 1e6)),
          3,
        ),
        packets_per_sec: {
          nominal_ingress: round(nominalPps * (halls.length + 1), 0),
          ingress: round(ingress / (wallMicros / 1e6), 0),
          egress: round(egress / (wallMicros / 1e6), 0),
        },
        worker_cpu_us_per_forwarded_packet: egress ? round(workerMicros / egress, 2) : null,
        delivered: {
          programme_audio: expectedAudio ? round(gotAudio / expectedAudio, 5) : null,
          programme_audio_forwarded: expectedAudioSeq ? round(gotAudioSeq / expectedAudioSeq, 5) : null,
          programme_video: expectedVideo ? round(gotVideo / expectedVideo, 5) : null,
          programme_packets: {
            expected: expectedAudioSeq + expectedVideo,
            lost: expectedAudioSeq + expectedVideo - gotAudioSeq - gotVideo,
          },
          ...Object.fromEntries(
            pages.map((p) => [
              p.name,
              pageVideo(
                a.pages[p.name] ?? [],
                b.pages[p.name] ?? [],
                p.name === 'wall' ? new Set(halls) : new Set(onAirSeen),
              ),
            ]),
          ),
        },
        chair_ack_ms: acks.length
          ? { p50: round(median(acks), 1), p99: round(percentile(acks, 99), 1) }
          : null,
        grant_to_first_audio_ms: grantLatency.length
          ? {
              n: grantLatency.length,
              p50: round(median(grantLatency), 0),
              p90: round(percentile(grantLatency, 90), 0),
            }
          : null,
        state_push_bytes:
          statePushes > pushes0 ? round((stateBytes - bytes0) / (statePushes - pushes0), 0) : null,
        disconnected: b.sites.filter(
          (s) => s.disconnects > (a.sites.find((x) => x.code === s.code)?.disconnects ?? 0),
        ).length,
        pages_connected: await Promise.all(
          pages.map(async (p) => {
            const st = await pageStates(p.page);
            return { page: p.name, state: st.now, states_seen: st.seen.length };
          }),
        ),
        unknown_packets: b.sites.reduce((k, s) => k + s.unknownPackets, 0),
        srtp_sampled: srtpSampled(a, b),
        udp_drops: b.drops - a.drops,
        receiver_socket_drops: {
          chromium: Math.max(0, b.receiverDrops.chromium - a.receiverDrops.chromium),
          generators: Math.max(0, b.receiverDrops.generators - a.receiverDrops.generators),
        },
      };
      results.push(step);
      process.stdout.write(`load ${n}: ${JSON.stringify(step)}\n`);
    }

    // Rejoin after a server restart: stopped as an operator stops it, started again on the same
    // port and data; the halls, the chair and the pages come back on their own.
    const halls = where.size;
    const tStop = Date.now();
    await server.stop();
    const tStart = Date.now();
    server = await startServerProcess(dir, { HOINGHI_WORKERS: '0', HOINGHI_HTTP_PORT: port });
    const upAt = Date.now();
    // The pages are waited for alongside the halls, each from the same start.
    const pagesBack = Promise.all(
      pages.map(
        async (p) =>
          [
            p.name,
            await waitFor(
              `the ${p.name} page receiving video again`,
              async () => {
                const st = await pageStates(p.page);
                const v = (await inboundStats(p.page).catch(() => [])).filter(
                  (x) => x.kind === 'video' && x.framesDecoded > 0,
                );
                return st.now === 'connected' && v.length > 0 ? Date.now() - upAt : undefined;
              },
              { timeoutMs: 120_000, intervalMs: 500 },
            ).catch(() => null),
          ] as const,
      ),
    );
    const back = await waitFor(
      'every hall to have the programme again after the restart',
      async () => {
        const all = await siteStats();
        return all.length === halls && all.every((x) => (x.programmeAt ?? 0) > upAt) ? all : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 1000 },
    ).catch(() => undefined);
    const after = back ?? (await siteStats());
    const since = (k: 'readyAt' | 'programmeAt') =>
      after.filter((x) => (x[k] ?? 0) > upAt).map((x) => (x[k] as number) - upAt);
    const pageBack = Object.fromEntries(await pagesBack);
    const restart = {
      halls,
      stop_ms: tStart - tStop,
      start_ms: upAt - tStart,
      rejoined: since('readyAt').length,
      programme_again: since('programmeAt').length,
      ms_from_server_up_to_rejoined: stat(since('readyAt')),
      ms_from_server_up_to_programme: stat(since('programmeAt')),
      chair_rejoined_ms: chair.readyAt && chair.readyAt > upAt ? chair.readyAt - upAt : null,
      pages_receiving_again_ms: pageBack,
    };
    process.stdout.write(`restart: ${JSON.stringify(restart)}\n`);

    // The join storm: every hall leaves, then all open their links within 5 s.
    await Promise.all(generators.map((g) => g.ask({ type: 'leave' })));
    const codes = roster.slice(0, halls);
    const stormAt = Date.now();
    const startAt = stormAt + 250;
    const stormAdded = await Promise.all(
      generators.map((g, i) =>
        g.ask<Extract<GeneratorReport, { type: 'added' }>>({
          type: 'add',
          url: server.url,
          startAt,
          sites: codes
            .map((s, j) => ({ s, j }))
            .filter(({ j }) => j % generators.length === i)
            .map(({ s, j }) => ({
              code: s.code,
              token: processToken(s.code),
              atMs: Math.round((j * STORM_PLAN_MS) / halls),
            })),
        }),
      ),
    );
    const stormed = await waitFor(
      'every hall of the storm to have the programme',
      async () => {
        const all = await siteStats();
        return all.length === halls && all.every((x) => x.programmeAt !== null) ? all : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    ).catch(() => undefined);
    const st = stormed ?? (await siteStats());
    const opened = st.map((x) => x.openedAt ?? stormAt);
    const storm = {
      halls,
      opened_within_ms: Math.max(...opened) - Math.min(...opened),
      joined: stormAdded.reduce((k, a) => k + a.joins.length, 0),
      failed: stormAdded.flatMap((a) => a.failed),
      join_ms: stat(stormAdded.flatMap((a) => a.joins.map((j) => j.ms))),
      programme_ms_from_open: stat(
        st
          .filter((x) => x.programmeAt !== null)
          .map((x) => (x.programmeAt as number) - (x.openedAt as number)),
      ),
      with_programme: st.filter((x) => x.programmeAt !== null).length,
    };
    process.stdout.write(`storm: ${JSON.stringify(storm)}\n`);
    extra.restart = restart;
    extra.storm = storm;
  } finally {
    await chair.stop();
    await browser?.close();
    for (const g of generators) g.stop();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const kneeStep = results.find((r) => {
    const d = r.delivered as {
      programme_audio: number | null;
      programme_video: number | null;
      wall?: { video_delivered: number | null };
      chair_console?: { video_delivered: number | null };
    };
    const w = (r.cpu_percent_of_a_core as { workers: number[] }).workers;
    const ack = r.chair_ack_ms as { p99: number } | null;
    // A page taking part but with no figures was not receiving (reconnecting): a failure.
    const pageFails = (p: { video_delivered: number | null } | undefined) =>
      p !== undefined && (p.video_delivered === null || p.video_delivered < 0.999);
    return (
      (d.programme_audio ?? 1) < 0.999 ||
      (d.programme_video ?? 1) < 0.999 ||
      pageFails(d.wall) ||
      pageFails(d.chair_console) ||
      Math.max(...w) > 85 ||
      (ack?.p99 ?? 0) > 250
    );
  });
  const knee = (kneeStep?.sites as number | undefined) ?? null;
  // The server's own limits: what reached the halls, what its sockets dropped, its workers and
  // acks. A page's loss counts only beyond what the page's own sockets dropped (the kernel
  // dropped those at the page, starved of CPU on this machine, after the server sent them).
  const serverKneeStep = results.find((r) => {
    const d = r.delivered as Record<
      string,
      { packets_received: number; packets_lost: number } | number | null
    >;
    const pages = ['wall', 'chair_console'].map((k) => d[k]).filter((x) => x && typeof x === 'object') as {
      packets_received: number;
      packets_lost: number;
    }[];
    const pageLost = pages.reduce((n, p) => n + p.packets_lost, 0);
    const pageAll = pages.reduce((n, p) => n + p.packets_received + p.packets_lost, 0);
    const own = r.receiver_socket_drops as { chromium: number; generators: number };
    const halls = d.programme_packets as unknown as { expected: number; lost: number };
    const w = (r.cpu_percent_of_a_core as { workers: number[] }).workers;
    const ack = r.chair_ack_ms as { p99: number } | null;
    return (
      (halls.expected > 0 && (halls.lost - own.generators) / halls.expected > 0.001) ||
      (pageAll > 0 && (pageLost - own.chromium) / pageAll > 0.001) ||
      (r.udp_drops as number) > 0 ||
      Math.max(...w) > 85 ||
      (ack?.p99 ?? 0) > 250
    );
  });
  const serverKnee = (serverKneeStep?.sites as number | undefined) ?? null;
  // Past the roster's 63 halls: where the busiest worker would reach 85 % of a core if its load
  // grows in step with the halls, from the largest step where the halls kept time (pace ≥ 0.95:
  // a starved generator sends less, and the server then carries less than the real load).
  const top = [...results].reverse().find((r) => (r.halls_send_pace as number) >= 0.95) ?? results.at(-1);
  const busiest = top ? Math.max(...(top.cpu_percent_of_a_core as { workers: number[] }).workers) : 0;
  const extrapolated = top && busiest > 0 ? Math.floor(((top.sites as number) * 85) / busiest) : null;
  const out = {
    what: 'synthetic halls with real WebRTC (werift, pre-encoded VP8 simulcast 150/450/1200 kbit/s + Opus) against the real server process',
    seconds_per_step: seconds,
    // The worker sockets' receive buffer (net.core.rmem_default): README, "The media sockets' receive buffer".
    udp_receive_buffer_bytes: rmem,
    generators: nGen,
    steps: results,
    knee,
    knee_rule:
      "first N with programme audio or video, or a page's tiles (the wall's, the chair console's), delivered < 99.9 % or not received at all, a worker > 85 % of a core, or chair ack p99 > 250 ms",
    headroom: knee ? round(knee / 64, 2) : null,
    server_knee: serverKnee,
    server_knee_rule:
      'first N with the halls or a page losing > 0.1 % of the programme beyond what their own sockets dropped, any drop at the server sockets, a worker > 85 % of a core, or chair ack p99 > 250 ms',
    server_knee_extrapolated: serverKnee ? null : extrapolated,
    server_knee_extrapolated_from: serverKnee ? null : (top?.sites ?? null),
    server_headroom: round((serverKnee ?? extrapolated ?? 0) / 64, 2),
    ...extra,
    note: knee
      ? undefined
      : `no knee up to ${maxSites} halls; the generators' CPU is in the figures: where they take the machine first, extrapolate from worker_cpu_us_per_forwarded_packet`,
    machine: machine(),
  };
  const outArg = process.argv.indexOf('--out');
  const svg = `${outArg >= 0 ? process.argv[outArg + 1] : 'load'}.svg`;
  fs.writeFileSync(path.join(__dirname, '..', '..', 'bench', 'results', svg), chart(results));
  return out;
}

function stat(xs: number[]): { n: number; p50: number; p90: number } | null {
  return xs.length ? { n: xs.length, p50: round(median(xs), 0), p90: round(percentile(xs, 90), 0) } : null;
}

/** A small SVG: worker CPU (max, % of a core) and programme audio delivered (%) against halls. */
export function chart(steps: Record<string, unknown>[]): string {
  const W = 640;
  const H = 360;
  const pad = 50;
  const xs = steps.map((s) => s.sites as number);
  const maxX = Math.max(...xs, 64);
  const x = (n: number) => pad + ((W - 2 * pad) * n) / maxX;
  const top = 70; // room for the legend above the 100 % line
  const y = (pct: number) => H - pad - ((H - pad - top) * Math.min(pct, 100)) / 100;
  const line = (vals: number[], colour: string) =>
    `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${vals.map((v, i) => `${x(xs[i] as number).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`;
  const cpu = steps.map((s) => Math.max(...(s.cpu_percent_of_a_core as { workers: number[] }).workers));
  const gen = steps.map((s) => (s.cpu_percent_of_a_core as { generators: number }).generators / 2);
  const del = steps.map(
    (s) => ((s.delivered as { programme_audio: number | null }).programme_audio ?? 0) * 100,
  );
  const ticks = [0, 25, 50, 75, 100]
    .map(
      (t) =>
        `<line x1="${pad}" x2="${W - pad}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${pad - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`,
    )
    .join('');
  const xt = xs.map((n) => `<text x="${x(n)}" y="${H - pad + 16}" text-anchor="middle">${n}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>${ticks}${xt}
<text x="${W / 2}" y="${H - 12}" text-anchor="middle">halls</text>
${line(cpu, '#c0392b')}${line(gen, '#7f8c8d')}${line(del, '#27ae60')}
<text x="${pad + 8}" y="20" fill="#c0392b">busiest mediasoup worker, % of a core</text>
<text x="${pad + 8}" y="34" fill="#7f8c8d">load generators, % of the machine</text>
<text x="${pad + 8}" y="48" fill="#27ae60">programme audio delivered, %</text>
</svg>
`;
}
