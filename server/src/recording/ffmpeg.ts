/**
 * ffmpeg and ffprobe as the recorders use them: an SDP describing tapped RTP streams, local UDP
 * ports for them, waiting until ffmpeg listens on them, a child process stopped cleanly (its
 * file finished) or killed, and what ffprobe reads back from a file.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import type { TapStream } from '../media/ConferenceMedia';

/** ffmpeg's first arguments for every recorder: no banner, no progress, warnings and errors only. */
export const QUIET = ['-hide_banner', '-nostats', '-loglevel', 'warning'];
/** Input: the composite page's WebM, piped in. */
export const FROM_PAGE = ['-f', 'webm', '-i', 'pipe:0'];
/** Output: every input stream copied as it is (no transcoding) into a Matroska file. */
export const toMatroska = (file: string) => ['-map', '0', '-c', 'copy', '-f', 'matroska', '-y', file];

/** An SDP for ffmpeg to receive the tapped streams on 127.0.0.1 (RTCP arrives on the RTP port). */
export function sdpFor(streams: TapStream[]): string {
  const lines = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=hoinghi', 'c=IN IP4 127.0.0.1', 't=0 0'];
  for (const s of streams) {
    const [, name] = s.mimeType.split('/');
    lines.push(`m=${s.kind} ${s.port} RTP/AVP ${s.payloadType}`);
    lines.push(`a=rtpmap:${s.payloadType} ${name}/${s.clockRate}${s.channels ? `/${s.channels}` : ''}`);
    const fmtp = Object.entries(s.parameters)
      .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(';');
    if (fmtp) lines.push(`a=fmtp:${s.payloadType} ${fmtp}`);
    lines.push('a=recvonly');
  }
  return `${lines.join('\r\n')}\r\n`;
}

const bindable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const sock = dgram.createSocket('udp4');
    sock.once('error', () => {
      sock.close();
      resolve(false);
    });
    sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
  });

let nextPort = 0;

/**
 * `n` free even ports on 127.0.0.1 whose next port is free too (ffmpeg takes RTP and RTCP),
 * from a range the kernel does not hand out for ephemeral ports.
 */
export async function freePortPairs(n: number, from = 30_000, to = 32_000): Promise<number[]> {
  const out: number[] = [];
  for (let tries = 0; out.length < n && tries < (to - from) / 2; tries++) {
    const port = from + ((nextPort += 2) % (to - from));
    if ((await bindable(port)) && (await bindable(port + 1))) out.push(port);
  }
  if (out.length < n) throw new Error(`no free local UDP ports in ${from}–${to}`);
  return out;
}

/** The local UDP ports bound on this host (IPv4 and IPv6), from /proc. */
function boundUdpPorts(): Set<number> {
  const ports = new Set<number>();
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      const hex = local?.split(':')[1];
      if (hex) ports.add(parseInt(hex, 16));
    }
  }
  return ports;
}

/** Resolves once every port is bound (ffmpeg listens), rejects after `timeoutMs` or if `alive` fails. */
export async function waitForListeners(
  ports: number[],
  timeoutMs: number,
  alive: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const bound = boundUdpPorts();
    if (ports.every((p) => bound.has(p))) return;
    if (!alive()) throw new Error('ffmpeg exited before listening');
    if (Date.now() > deadline)
      throw new Error(`ffmpeg did not listen on ${ports.join(', ')} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A running ffmpeg: its pid, its exit, the tail of what it said, and a clean stop. */
export class Ffmpeg {
  readonly #child: ChildProcessWithoutNullStreams;
  #tail = '';
  #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #done = false;
  /** Called when it ends without having been asked to stop. */
  onDeath: (why: string) => void = () => undefined;
  #stopping = false;

  constructor(bin: string, args: string[]) {
    this.#child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stdout.resume();
    this.#child.stderr.setEncoding('utf8');
    this.#child.stderr.on('data', (d: string) => {
      this.#tail = (this.#tail + d).slice(-2000);
    });
    // A pipe the child closed (it died) must not throw in our process.
    this.#child.stdin.on('error', () => undefined);
    this.#exited = new Promise((resolve) => {
      this.#child.once('error', (e) => {
        this.#tail += `\n${e.message}`;
        this.#done = true;
        resolve({ code: null, signal: null });
        if (!this.#stopping) this.onDeath(`cannot run ${bin}: ${e.message}`);
      });
      this.#child.once('exit', (code, signal) => {
        this.#done = true;
        resolve({ code, signal });
        if (!this.#stopping)
          this.onDeath(
            `${bin} ended (${signal ?? `exit ${code}`})${this.lastLine ? `: ${this.lastLine}` : ''}`,
          );
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get alive(): boolean {
    return !this.#done;
  }

  get stdin(): NodeJS.WritableStream {
    return this.#child.stdin;
  }

  /** The last non-empty line it printed (its error, when it failed). */
  get lastLine(): string {
    return (
      this.#tail
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .pop() ?? ''
    ).slice(0, 300);
  }

  get exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.#exited;
  }

  /**
   * Asks it to finish its file (SIGINT, which also interrupts a read waiting for packets; or
   * the end of its piped input), then waits; killed after `graceMs`. Resolves with whether it
   * ended on its own.
   */
  async stop(graceMs = 5000, endInput = false): Promise<boolean> {
    this.#stopping = true;
    if (this.#done) return true;
    if (endInput) this.#child.stdin.end();
    else this.#child.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const clean = await Promise.race([
      this.#exited.then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (!clean) {
      this.#child.kill('SIGKILL');
      await this.#exited;
    }
    return clean;
  }

  /** Ends it at once (no clean file). */
  kill(): void {
    this.#stopping = true;
    if (!this.#done) this.#child.kill('SIGKILL');
  }
}

export interface Probe {
  durationMs: number | null;
  /** e.g. "video/vp8", "audio/opus". */
  streams: string[];
}

/** What ffprobe reads from a file: its duration and streams; null duration when it cannot. */
export function probe(ffprobe: string, file: string): Promise<Probe> {
  return new Promise((resolve) => {
    execFile(
      ffprobe,
      ['-v', 'error', '-show_entries', 'format=duration:stream=codec_type,codec_name', '-of', 'json', file],
      { timeout: 30_000, maxBuffer: 1024 * 1024 },
      (err, stdout) => {
        if (err) return resolve({ durationMs: null, streams: [] });
        try {
          const j = JSON.parse(stdout) as {
            format?: { duration?: string };
            streams?: { codec_type?: string; codec_name?: string }[];
          };
          const d = Number(j.format?.duration);
          resolve({
            durationMs: Number.isFinite(d) ? Math.round(d * 1000) : null,
            streams: (j.streams ?? []).map((s) => `${s.codec_type ?? '?'}/${s.codec_name ?? '?'}`),
          });
        } catch {
          resolve({ durationMs: null, streams: [] });
        }
      },
    );
  });
}

/** CPU time (user + system, ms) a process has used so far, from /proc; null when it is gone. */
export function cpuMs(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/**
 * CPU time (ms) of every process whose command line has `marker`, and of all their descendants
 * (Chromium's renderer, GPU and utility processes), from /proc.
 */
export function processTreeCpuMs(marker: string): number {
  const parent = new Map<number, number>();
  const roots = new Set<number>();
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) roots.add(pid);
    } catch {
      // gone meanwhile
    }
  }
  let total = 0;
  for (const pid of parent.keys()) {
    for (let p: number | undefined = pid, hops = 0; p && hops < 64; p = parent.get(p), hops++) {
      if (roots.has(p)) {
        total += cpuMs(pid) ?? 0;
        break;
      }
    }
  }
  return total;
}

/** How much a relay holds before its receiver listens (packets): some seconds of a statement. */
const RELAY_BUFFER_PACKETS = 4000;
/** How long a relay waits for its stream's first Sender Report before handing over without it. */
const SYNC_WAIT_MS = 3000;
/** An RTCP Sender Report (payload type 200, first in a compound packet). */
const isSenderReport = (msg: Buffer) => msg.length >= 28 && msg[1] === 200;

/** The clock mediasoup's Sender Reports are on: its worker's uv_hrtime in ms (CLOCK_MONOTONIC, as Node's). */
export const monotonicMs = (): number => Number(process.hrtime.bigint() / 1_000_000n);

/**
 * A Sender Report for the same stream as `real`, saying which RTP timestamp was `atMs` (on the
 * worker's clock, in ms as mediasoup writes it: seconds and a binary fraction).
 */
export function senderReportAt(real: Buffer, atMs: number, clockRate: number): Buffer {
  const ntpMs = real.readUInt32BE(8) * 1000 + Math.round((real.readUInt32BE(12) * 1000) / 2 ** 32);
  const rtp = (real.readUInt32BE(16) - Math.round(((ntpMs - atMs) * clockRate) / 1000)) >>> 0;
  const sr = Buffer.alloc(28);
  sr.writeUInt8(0x80, 0); // version 2, no report blocks
  sr.writeUInt8(200, 1);
  sr.writeUInt16BE(6, 2); // length in 32-bit words, minus one
  real.copy(sr, 4, 4, 8); // SSRC
  sr.writeUInt32BE(Math.floor(atMs / 1000), 8);
  sr.writeUInt32BE(Math.floor(((atMs % 1000) / 1000) * 2 ** 32), 12);
  sr.writeUInt32BE(rtp, 16);
  return sr; // packet and octet counts 0: ffmpeg reads only the timing
}

/**
 * A local UDP relay between the SFU's tap and ffmpeg (one stream): it receives from the moment the
 * tap starts and keeps what arrives until ffmpeg listens, then hands it over and forwards the rest
 * as it comes. The recording thus begins at the grant, not when ffmpeg is ready (which on a busy
 * machine takes a second or more). Packets from ffmpeg itself (its RTCP reports) are dropped.
 *
 * It also holds the stream until the SFU's first Sender Report for it, and hands over first a
 * report made from it for the moment the statement began (`timing`, the same moment for every
 * stream of the file). ffmpeg places a stream on the common clock only from its first report:
 * packets before it were timed from the stream's own first packet, so a stream that began later
 * than the others (a camera's first key frame a second after the microphones) jumped forward when
 * its report came, a "hole" in the file that was really a late start. With the report first and
 * dated at the start, every packet of every stream is timed from the same origin.
 */
export class RtpRelay {
  readonly #sock = dgram.createSocket('udp4');
  #buffer: Buffer[] = [];
  #target: number | null = null;
  /** Everything held was handed over: packets go straight through. */
  #live = false;
  #flushing = false;
  /** The stream's first Sender Report is at the head of the buffer (or waiting for it ended). */
  #synced = false;
  #syncTimer: NodeJS.Timeout | undefined;
  #closed = false;
  dropped = 0;
  /** When the statement began (monotonicMs) and the stream's clock rate: set before it flows. */
  timing: { startMs: number; clockRate: number } | null = null;

  static async open(): Promise<RtpRelay> {
    const r = new RtpRelay();
    await new Promise<void>((resolve, reject) => {
      r.#sock.once('error', reject);
      r.#sock.bind(0, '127.0.0.1', () => resolve());
    });
    r.#sock.on('error', () => undefined);
    r.#sock.on('message', (msg, from) => r.#receive(msg, from.port));
    return r;
  }

  get port(): number {
    return this.#sock.address().port;
  }

  #receive(msg: Buffer, fromPort: number): void {
    if (this.#target !== null && (fromPort === this.#target || fromPort === this.#target + 1)) return;
    if (this.#live && this.#target !== null) {
      this.#sock.send(msg, this.#target, '127.0.0.1');
      return;
    }
    if (!this.#synced && isSenderReport(msg)) {
      // Dated at the start, it goes before everything held: ffmpeg times those packets by it.
      const t = this.timing;
      this.#buffer.unshift(t ? senderReportAt(msg, t.startMs, t.clockRate) : msg);
      if (t) this.#buffer.push(msg);
      this.#sync();
      return;
    }
    if (this.#buffer.length < RELAY_BUFFER_PACKETS) this.#buffer.push(msg);
    else this.dropped += 1;
    if (!this.#synced && !this.#syncTimer) {
      this.#syncTimer = setTimeout(() => this.#sync(), SYNC_WAIT_MS);
      this.#syncTimer.unref();
    }
  }

  #sync(): void {
    clearTimeout(this.#syncTimer);
    this.#synced = true;
    this.#flush();
  }

  /**
   * Hands what it holds to `port` once the stream's first report is in, 16 packets every 2 ms
   * (about 8000 a second: a second of video in some 40 ms; sent in one burst it overflowed the
   * receiver's socket buffer and left a hole in the file), then forwards everything there as it
   * comes.
   */
  forwardTo(port: number): void {
    this.#target = port;
    this.#flush();
  }

  #flush(): void {
    const port = this.#target;
    if (port === null || !this.#synced || this.#flushing || this.#live) return;
    this.#flushing = true;
    const step = () => {
      if (this.#closed) return;
      for (const msg of this.#buffer.splice(0, 16)) this.#sock.send(msg, port, '127.0.0.1');
      if (this.#buffer.length > 0) setTimeout(step, 2);
      else {
        this.#flushing = false;
        this.#live = true;
      }
    };
    step();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#syncTimer);
    this.#buffer = [];
    try {
      this.#sock.close();
    } catch {
      // already closed
    }
  }
}
