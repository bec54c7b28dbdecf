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
 *   npm run bench -- load [--sites 63] [--seconds 30] [--generators 2]
 *
 * Not yet here (issue 8): the Chromium chair and wall pages during the run, and producers spread
 * over workers (today the conference's router lives on one worker).
 */
import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { GeneratorOrder, GeneratorReport, SiteStats } from './loadgen/generator';
import { SyntheticSite, request } from './loadgen/syntheticSite';
import { processToken, startServerProcess } from '../tests/helpers/serverProcess';
import { loadRoster } from '../server/src/app';
import { machine } from './machine';
import { median, percentile, round } from './stats';

const FLOOR_EVERY_MS = 10_000;
const CLK_TCK = 100;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} needs a positive whole number`);
  return v;
}

/** utime + stime of a process, in µs (from /proc; 0 when it is gone). */
function cpuMicros(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(f[11]) + Number(f[12])) / CLK_TCK) * 1e6;
  } catch {
    return 0;
  }
}

class Generator {
  readonly child: ChildProcess;
  #waiting: ((r: GeneratorReport) => void)[] = [];
  constructor() {
    this.child = fork(path.join(__dirname, 'loadgen', 'generator.js'), {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
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
  drops: number;
}

export async function benchLoad(): Promise<Record<string, unknown>> {
  const maxSites = arg('sites', 63);
  const seconds = arg('seconds', 30);
  const nGen = arg('generators', 2);
  const steps = [...new Set([8, 16, 32, 48, 63, 80, 96, 128].filter((n) => n < maxSites).concat(maxSites))];
  const roster = loadRoster('vn-2021').sites.filter((s) => s.kind !== 'central');
  if (maxSites > roster.length)
    throw new Error(`the roster has ${roster.length} halls; --sites ${maxSites} is more`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-bench-load-'));
  const server = await startServerProcess(dir, { HOINGHI_WORKERS: '0' });
  const generators = Array.from({ length: nGen }, () => new Generator());
  const health = async () =>
    (
      (await (
        await fetch(`${server.url}/api/health`, {
          headers: { authorization: `Bearer ${processToken('operator')}` },
        })
      ).json()) as {
        media: { sockets: { pid: number; drops: number }[]; receiveBuffer: { rmemDefault: number | null } };
      }
    ).media;
  const chair = await new SyntheticSite(server.url, processToken('chair'), 'chair').start();
  let statePushes = 0;
  let stateBytes = 0;
  let onAir: string | null = null;
  chair.socket.on('conference:state', (p: { state: { onAir: { siteCode: string } | null } }) => {
    statePushes += 1;
    stateBytes += JSON.stringify(p).length;
    onAir = p.state.onAir?.siteCode ?? null;
  });
  await request(chair.socket, 'conference:open', {});
  await request(chair.socket, 'conference:start', {});
  const rmem = (await health()).receiveBuffer.rmemDefault;

  const where = new Map<string, Generator>();
  const snapshot = async (): Promise<Snapshot> => {
    const stats = await Promise.all(
      generators.map((g) => g.ask<Extract<GeneratorReport, { type: 'stats' }>>({ type: 'stats' })),
    );
    const media = await health();
    return {
      at: performance.now(),
      server: cpuMicros(server.child.pid as number),
      workers: media.sockets.map((s) => ({ pid: s.pid, cpu: cpuMicros(s.pid) })),
      generators: stats.reduce((n, s) => n + s.cpuMicros, 0),
      sites: stats.flatMap((s) => s.sites),
      chairSent: chair.sent(),
      chairReceived: chair.received().reduce((n, r) => n + r.packets, 0),
      drops: media.sockets.reduce((n, s) => n + s.drops, 0),
    };
  };

  const results: Record<string, unknown>[] = [];
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
      const acks: number[] = [];
      const grants: { code: string; at: number }[] = [];
      const end = performance.now() + seconds * 1000;
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

      // Programme delivery: every hall should get all of the chair's audio and top video layer.
      const recvFrom = (s: Snapshot, code: string, from: string, source: string) =>
        s.sites
          .find((x) => x.code === code)
          ?.received.filter((r) => r.from === from && r.source === source)
          .reduce((k, r) => k + r.packets, 0) ?? 0;
      const halls = b.sites.map((s) => s.code);
      const dAudio = b.chairSent.microphone - a.chairSent.microphone;
      const dVideo = (b.chairSent.camera.r2 ?? 0) - (a.chairSent.camera.r2 ?? 0);
      const gotAudio = halls.reduce(
        (k, c) =>
          k + Math.min(dAudio, recvFrom(b, c, 'chair', 'microphone') - recvFrom(a, c, 'chair', 'microphone')),
        0,
      );
      const gotVideo = halls.reduce(
        (k, c) => k + Math.min(dVideo, recvFrom(b, c, 'chair', 'camera') - recvFrom(a, c, 'chair', 'camera')),
        0,
      );
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
        cpu_percent_of_a_core: {
          workers: workerCpu,
          server_node: round(((b.server - a.server) / wallMicros) * 100, 1),
          generators: round(((b.generators - a.generators) / wallMicros) * 100, 1),
        },
        packets_per_sec: {
          ingress: round(ingress / (wallMicros / 1e6), 0),
          egress: round(egress / (wallMicros / 1e6), 0),
        },
        worker_cpu_us_per_forwarded_packet: egress ? round(workerMicros / egress, 2) : null,
        delivered: {
          programme_audio: dAudio ? round(gotAudio / (dAudio * halls.length), 5) : null,
          programme_video: dVideo ? round(gotVideo / (dVideo * halls.length), 5) : null,
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
        disconnected: b.sites.filter((s) => s.disconnected).length,
        unknown_packets: b.sites.reduce((k, s) => k + s.unknownPackets, 0),
        udp_drops: b.drops - a.drops,
      };
      results.push(step);
      process.stdout.write(`load ${n}: ${JSON.stringify(step)}\n`);
    }
  } finally {
    await chair.stop();
    for (const g of generators) g.stop();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const kneeStep = results.find((r) => {
    const d = r.delivered as { programme_audio: number | null; programme_video: number | null };
    const w = (r.cpu_percent_of_a_core as { workers: number[] }).workers;
    const ack = r.chair_ack_ms as { p99: number } | null;
    return (
      (d.programme_audio ?? 1) < 0.999 ||
      (d.programme_video ?? 1) < 0.999 ||
      Math.max(...w) > 85 ||
      (ack?.p99 ?? 0) > 250
    );
  });
  const knee = (kneeStep?.sites as number | undefined) ?? null;
  const out = {
    what: 'synthetic halls with real WebRTC (werift, pre-encoded VP8 simulcast 150/450/1200 kbit/s + Opus) against the real server process',
    seconds_per_step: seconds,
    // The worker sockets' receive buffer (net.core.rmem_default): README, "The media sockets' receive buffer".
    udp_receive_buffer_bytes: rmem,
    generators: nGen,
    steps: results,
    knee,
    knee_rule:
      'first N with programme audio or video delivered < 99.9 %, a worker > 85 % of a core, or chair ack p99 > 250 ms',
    headroom: knee ? round(knee / 64, 2) : null,
    note: knee
      ? undefined
      : `no knee up to ${maxSites} halls; the generators' CPU is in the figures: where they take the machine first, extrapolate from worker_cpu_us_per_forwarded_packet`,
    machine: machine(),
  };
  fs.writeFileSync(path.join(__dirname, '..', '..', 'bench', 'results', 'load.svg'), chart(results));
  return out;
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
