/**
 * The programme composite, recorded and streamed the way egress services do it: a headless
 * Chromium opens the recorder page (client/src/recorder) with a credential the server signs for
 * itself (role `recorder`: it receives what a hall receives and publishes nothing); the page
 * draws the programme (layout, names, presentation) into a canvas, mixes its sound, and hands
 * its MediaRecorder's WebM (VP8 + Opus) here chunk by chunk. One ffmpeg writes it to a Matroska
 * file as it is (no transcoding); when `recording.streamUrl` is set, a second ffmpeg encodes it
 * to H.264 + AAC for an RTMP or SRT destination, so a broken stream never costs the file.
 *
 * The same composite is also sent over RTP to the halls' AV systems that asked for it
 * (`POST /api/rtp-out`): one ffmpeg per hall copies its VP8 and Opus into two RTP streams, no
 * transcoding. The composite runs while the programme is recorded (`state.recording`, the
 * chair's or an operator's `recording:start` / `recording:stop`) or at least one RTP output is
 * registered; the file exists only while it is recorded.
 *
 * Failures are reported to the operators and logged, and the conference goes on: a dead ffmpeg
 * or page is started again (the file continues in a new part, an RTP output starts again), an
 * unreachable stream is retried, a full disk ends the recording (`recording.failed`, final) but
 * not the RTP outputs. Every ffmpeg that joins a running composite is fed the WebM's header (its
 * EBML header, Info and Tracks, without the first second's media) and then the live chunks from
 * the next Cluster on (./webm.ts).
 */
import type { Writable } from 'node:stream';
import { type Browser, type Page, chromium } from 'playwright-core';
import type { ConferenceState } from '../core/model';
import type { RecordingStatus } from '../../../protocol/recording';
import { createLogger } from '../logger';
import type { ConferenceService } from '../service/ConferenceService';
import { Ffmpeg, cpuMs, processTreeCpuMs, FROM_PAGE, QUIET, toMatroska } from './ffmpeg';
import type { Recordings } from './Recordings';
import { type ClusterStart, WebmClusters, webmInitSegment } from './webm';

const log = createLogger('recording:programme');

/** How often the disk is checked while recording. */
const DISK_CHECK_MS = 5000;
/** Restarts of a dead part before giving up (the count resets after a minute of running). */
const MAX_RESTARTS = 5;
const RESTART_DELAY_MS = 2000;
const STREAM_RETRY_MS = 5000;
/** With RTP outputs still registered, a composite that could not be kept running is tried again after this. */
const COMPOSITE_RETRY_MS = 30_000;
/** An RTP output's ffmpeg that died is started again after this, doubled for each death in a row, at most… */
const OUTPUT_RETRY_MAX_MS = 30_000;
/** …and one that ran this long counts as healthy again. */
const OUTPUT_HEALTHY_MS = 60_000;
/** WebM not yet taken by an RTP output's ffmpeg beyond which it is taken as stuck (and started again). */
const OUTPUT_MAX_BACKLOG = 16 * 1024 * 1024;
/** Stopping the recording while the composite goes on: the piece holding its last second is awaited this long. */
const LAST_PIECE_MS = 2500;

/** RTP payload types of the programme's RTP outputs (what their SDP announces). */
export const RTP_OUT_VIDEO_PT = 96;
export const RTP_OUT_AUDIO_PT = 111;
/** Video RTP packets at most this large (fits a 1500-byte MTU with IP, UDP and a VPN's overhead). */
const RTP_OUT_PACKET = 1200;
/**
 * An Opus packet cannot be split over RTP packets, and the composite's (60 ms at 128 kbit/s)
 * may pass 1200 bytes: allowed up to Opus's largest (3 × 1275 bytes), fragmented by IP when rare.
 */
const RTP_OUT_AUDIO_PACKET = 4000;

export interface ProgrammeRecorderDeps {
  service: ConferenceService;
  recordings: Recordings;
  ffmpeg: string;
  ffprobe: string;
  chromium: string;
  streamUrl: string;
  videoKbps: number;
  /** The recorder page's address with its credential (`…/recorder#t=…`). */
  pageUrl: () => string;
}

/** Where a hall's AV system wants the programme: RTP (RTCP on each port + 1). */
export interface RtpOutputTarget {
  siteCode: string;
  ip: string;
  videoPort: number;
  audioPort: number;
}

export type RtpOutputStatus = RecordingStatus['outputs'][number];

interface Part {
  id: string;
  since: number;
  file: Ffmpeg;
  /** WebM written to it. */
  bytes: number;
}

interface Output extends RtpOutputTarget {
  ffmpeg: Ffmpeg | null;
  state: RtpOutputStatus['state'];
  retry: NodeJS.Timeout | undefined;
  /** Deaths in a row (for the delay before it starts again). */
  failures: number;
  startedAt: number;
}

/** The page's own report of itself (see client/src/recorder). */
interface PageStatus {
  state?: string;
  message?: string;
}

/** The SDP a hall's receiver (ffplay, ffmpeg, VLC, a decoder) opens to take the programme. */
export function rtpOutputSdp(t: RtpOutputTarget, name = 'hoinghi programme'): string {
  return `${[
    'v=0',
    `o=- 0 0 IN IP4 ${t.ip}`,
    `s=${name.replace(/[\r\n]/g, ' ')}`,
    `c=IN IP4 ${t.ip}`,
    't=0 0',
    `m=video ${t.videoPort} RTP/AVP ${RTP_OUT_VIDEO_PT}`,
    `a=rtpmap:${RTP_OUT_VIDEO_PT} VP8/90000`,
    'a=recvonly',
    `m=audio ${t.audioPort} RTP/AVP ${RTP_OUT_AUDIO_PT}`,
    `a=rtpmap:${RTP_OUT_AUDIO_PT} opus/48000/2`,
    `a=fmtp:${RTP_OUT_AUDIO_PT} sprop-stereo=1`,
    'a=recvonly',
  ].join('\r\n')}\r\n`;
}

/** ffmpeg's arguments to copy the composite's WebM (on its stdin) into the two RTP streams. */
export function rtpOutputArgs(t: RtpOutputTarget): string[] {
  return [
    ...QUIET,
    // Sent at the pace it was recorded, not in a burst each second as the pieces arrive.
    '-re',
    // Its parameters are in the WebM header: no need to wait for a key frame to start.
    '-analyzeduration',
    '1',
    ...FROM_PAGE,
    '-map',
    '0:v:0',
    '-c',
    'copy',
    '-f',
    'rtp',
    '-payload_type',
    String(RTP_OUT_VIDEO_PT),
    `rtp://${t.ip}:${t.videoPort}?pkt_size=${RTP_OUT_PACKET}`,
    '-map',
    '0:a:0',
    '-c',
    'copy',
    '-f',
    'rtp',
    '-payload_type',
    String(RTP_OUT_AUDIO_PT),
    `rtp://${t.ip}:${t.audioPort}?pkt_size=${RTP_OUT_AUDIO_PACKET}`,
  ];
}

export class ProgrammeRecorder {
  readonly #deps: ProgrammeRecorderDeps;
  #browser: Browser | null = null;
  #page: Page | null = null;
  #part: Part | null = null;
  #stream: Ffmpeg | null = null;
  #streamState: 'off' | 'up' | 'down' = 'off';
  #streamRetry: NodeJS.Timeout | undefined;
  /** The WebM header (the page's first chunk). */
  #header: Buffer | null = null;
  /** What an ffmpeg joining the running composite is fed first (the header without its media). */
  #init: Buffer | null = null;
  /** Where the composite's Clusters start (an ffmpeg joins at one). */
  #clusters = new WebmClusters();
  /** ffmpegs fed the header, waiting for the next Cluster to start. */
  readonly #joining = new WeakSet<Ffmpeg>();
  /** The page said its MediaRecorder started. */
  #started = false;
  /** `state.recording` is set (and the recording was not given up). */
  #recording = false;
  /** The RTP outputs registered, by site. */
  readonly #outputs = new Map<string, Output>();
  #closing = false;
  #chain: Promise<void> = Promise.resolve();
  #diskCheck: NodeJS.Timeout | undefined;
  #restarts = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #compositeRetry: NodeJS.Timeout | undefined;
  #generation = 0;
  /** Waiting for the next piece (the recording's last second, when the composite goes on). */
  #pieceWaiters: (() => void)[] = [];

  constructor(deps: ProgrammeRecorderDeps) {
    this.#deps = deps;
  }

  /** Processes doing the work now (for the CPU figures): ffmpeg's pids, the file's first. */
  get ffmpegPids(): number[] {
    return [
      this.#part?.file.pid,
      this.#stream?.pid,
      ...[...this.#outputs.values()].map((o) => o.ffmpeg?.pid),
    ].filter((p): p is number => p !== undefined);
  }

  get recording(): boolean {
    return this.#part !== null;
  }

  /** The composite page is open (for the recording or for RTP outputs). */
  get running(): boolean {
    return this.#browser !== null;
  }

  /** CPU time used so far by its ffmpegs and by its Chromium (every process of it), ms. */
  cpuMs(): { ffmpeg: number; chromium: number } {
    return {
      ffmpeg: this.ffmpegPids.reduce((a, pid) => a + (cpuMs(pid) ?? 0), 0),
      chromium: processTreeCpuMs('--hoinghi-programme-recorder'),
    };
  }

  follow(state: ConferenceState): void {
    const want = Boolean(state.recording);
    if (want === this.#recording || this.#closing) return;
    this.#recording = want;
    this.#queue(() => this.#reconcile());
  }

  /** The RTP outputs, as the status shows them. */
  get outputs(): RtpOutputStatus[] {
    return [...this.#outputs.values()].map(outputStatus);
  }

  output(siteCode: string): RtpOutputStatus | undefined {
    const o = this.#outputs.get(siteCode);
    return o ? outputStatus(o) : undefined;
  }

  /**
   * Sends the programme to a hall's AV system over RTP (replacing what that hall had): at once
   * when the composite runs, else as soon as it has started.
   */
  setOutput(target: RtpOutputTarget): RtpOutputStatus {
    const old = this.#outputs.get(target.siteCode);
    if (old) this.#dropOutput(old);
    const o: Output = {
      siteCode: target.siteCode,
      ip: target.ip,
      videoPort: target.videoPort,
      audioPort: target.audioPort,
      ffmpeg: null,
      state: 'waiting',
      retry: undefined,
      failures: 0,
      startedAt: 0,
    };
    this.#outputs.set(o.siteCode, o);
    if (this.#init && !this.#closing) this.#startOutput(o, true);
    // The composite starts for it (or, were it just stopping, starts again).
    this.#queue(() => this.#reconcile());
    log.info('RTP output registered', {
      site: o.siteCode,
      ip: o.ip,
      videoPort: o.videoPort,
      audioPort: o.audioPort,
    });
    this.#publish();
    return outputStatus(o);
  }

  /** Stops a hall's RTP output; false when it had none. */
  removeOutput(siteCode: string): boolean {
    const o = this.#outputs.get(siteCode);
    if (!o) return false;
    this.#dropOutput(o);
    this.#outputs.delete(siteCode);
    log.info('RTP output removed', { site: siteCode });
    this.#publish();
    this.#queue(() => this.#reconcile());
    return true;
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#recording = false;
    clearTimeout(this.#compositeRetry);
    this.#queue(() => this.#stopComposite(null));
    await this.#chain;
    for (const o of this.#outputs.values()) this.#dropOutput(o);
  }

  /** Something wants the composite: the recording, or an RTP output. */
  get #wanted(): boolean {
    return !this.#closing && (this.#recording || this.#outputs.size > 0);
  }

  #queue(step: () => Promise<void>): void {
    this.#chain = this.#chain
      .then(step)
      .catch((e: unknown) => log.error('programme recorder step failed', { error: e }));
  }

  /** Brings the page, the file and the stream in line with what is wanted now (in the queue). */
  async #reconcile(): Promise<void> {
    clearTimeout(this.#compositeRetry);
    if (!this.#wanted) {
      if (this.#browser) await this.#stopComposite(null);
      return;
    }
    if (this.#recording && !this.#part) {
      const refusal = this.#deps.recordings.diskRefusal();
      if (refusal) {
        await this.#giveUp('disk', `the programme is not recorded: ${refusal}`);
        if (!this.#wanted) return;
      }
    }
    if (!this.#browser) {
      await this.#startComposite();
      return;
    }
    if (this.#recording && !this.#part) {
      const id = this.#beginRecording();
      log.info('recording the programme', { id, stream: this.#deps.streamUrl !== '' });
    } else if (!this.#recording && this.#part) {
      await this.#endRecording(null, true);
      log.info('programme recording stopped; the composite goes on for the RTP outputs');
    }
    this.#publish();
  }

  async #startComposite(): Promise<void> {
    const generation = ++this.#generation;
    this.#header = null;
    this.#init = null;
    this.#clusters = new WebmClusters();
    this.#started = false;
    try {
      if (this.#recording) this.#beginRecording();
      await this.#openPage(generation);
    } catch (e) {
      const message = `the programme recorder could not start: ${e instanceof Error ? e.message : String(e)}`;
      await this.#teardown();
      this.#deps.recordings.problem('recorder', 'programme', message);
      if (this.#recording) this.#failed(message);
      this.#retryCompositeLater();
      return;
    }
    this.#publish();
    log.info('programme composite started', {
      recording: this.#part?.id ?? null,
      stream: this.#deps.streamUrl !== '',
      outputs: [...this.#outputs.keys()],
    });
  }

  /** The file (and the stream), joining the composite as it runs or from its start. */
  #beginRecording(): string {
    const id = this.#openPart();
    if (this.#deps.streamUrl) this.#openStream();
    clearInterval(this.#diskCheck);
    this.#diskCheck = setInterval(() => {
      const why = this.#deps.recordings.diskRefusal();
      if (why && this.#part) this.#queue(() => this.#giveUp('disk', `programme recording stopped: ${why}`));
      else this.#publish();
    }, DISK_CHECK_MS);
    this.#diskCheck.unref();
    return id;
  }

  /**
   * Ends the file (and the stream) while the composite goes on; with `lastPiece`, after the
   * piece holding the last second was written to it.
   */
  async #endRecording(failure: string | null, lastPiece: boolean): Promise<void> {
    clearInterval(this.#diskCheck);
    clearTimeout(this.#streamRetry);
    if (this.#part && lastPiece)
      await new Promise<void>((resolve) => {
        this.#pieceWaiters.push(resolve);
        setTimeout(resolve, LAST_PIECE_MS).unref();
      });
    const part = this.#part;
    this.#part = null;
    const stream = this.#stream;
    this.#stream = null;
    this.#streamState = 'off';
    this.#publish();
    await Promise.all([
      part ? part.file.stop(10_000, true).then(() => this.#finishPart(part, failure)) : undefined,
      stream?.stop(5000, true),
    ]);
  }

  /** A new file (part) written by a new ffmpeg from the page's WebM, copied as it is. */
  #openPart(): string {
    const { recordings } = this.#deps;
    const at = Date.now();
    const id = recordings.newId('programme', at);
    recordings.begin(id, 'programme', null, null, at);
    const file = new Ffmpeg(this.#deps.ffmpeg, [...QUIET, ...FROM_PAGE, ...toMatroska(recordings.file(id))]);
    const part: Part = { id, since: at, file, bytes: 0 };
    this.#join(file);
    file.onDeath = (why) => {
      if (this.#part !== part) return;
      this.#deps.recordings.problem(
        'recorder',
        'programme',
        `programme recording: ffmpeg died (${why}); starting a new part`,
      );
      this.#part = null;
      void this.#finishPart(part, `ffmpeg died: ${why}`);
      this.#queue(async () => {
        if (!this.#recording || this.#part || !this.#browser) return;
        if (!this.#mayRestart()) return this.#giveUp('recorder', 'programme recording: ffmpeg keeps dying');
        const refusal = this.#deps.recordings.diskRefusal();
        if (refusal) return this.#giveUp('disk', `programme recording stopped: ${refusal}`);
        this.#openPart();
        this.#publish();
      });
    };
    this.#part = part;
    return id;
  }

  #openStream(): void {
    const url = this.#deps.streamUrl;
    const srt = url.startsWith('srt:');
    const stream = new Ffmpeg(this.#deps.ffmpeg, [
      ...QUIET,
      ...FROM_PAGE,
      '-map',
      '0:v:0',
      '-map',
      '0:a:0',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-tune',
      'zerolatency',
      '-pix_fmt',
      'yuv420p',
      '-b:v',
      `${this.#deps.videoKbps}k`,
      '-maxrate',
      `${this.#deps.videoKbps}k`,
      '-bufsize',
      `${this.#deps.videoKbps * 2}k`,
      '-g',
      '50',
      '-c:a',
      'aac',
      '-b:a',
      '128k',
      '-ar',
      '48000',
      '-f',
      srt ? 'mpegts' : 'flv',
      url,
    ]);
    this.#stream = stream;
    this.#streamState = 'up';
    this.#join(stream);
    stream.onDeath = (why) => {
      if (this.#stream !== stream) return;
      this.#stream = null;
      this.#streamState = 'down';
      this.#deps.recordings.problem(
        'stream',
        'programme',
        `the stream to ${redact(url)} stopped: ${why}; retrying`,
      );
      this.#publish();
      clearTimeout(this.#streamRetry);
      this.#streamRetry = setTimeout(() => {
        if (this.#part && !this.#stream) {
          this.#openStream();
          this.#publish();
        }
      }, STREAM_RETRY_MS);
      this.#streamRetry.unref();
    };
  }

  /** An RTP output's own ffmpeg; `withInit` when it joins the composite as it runs. */
  #startOutput(o: Output, withInit: boolean): void {
    clearTimeout(o.retry);
    o.retry = undefined;
    const f = new Ffmpeg(this.#deps.ffmpeg, rtpOutputArgs(o));
    o.ffmpeg = f;
    o.state = 'up';
    o.startedAt = Date.now();
    if (withInit) this.#join(f);
    f.onDeath = (why) => this.#outputDied(o, f, `ffmpeg died (${why})`);
  }

  #outputDied(o: Output, f: Ffmpeg, why: string): void {
    if (o.ffmpeg !== f || this.#outputs.get(o.siteCode) !== o) return;
    o.ffmpeg = null;
    o.state = 'down';
    if (Date.now() - o.startedAt >= OUTPUT_HEALTHY_MS) o.failures = 0;
    o.failures += 1;
    const delay = Math.min(OUTPUT_RETRY_MAX_MS, RESTART_DELAY_MS * 2 ** (o.failures - 1));
    this.#deps.recordings.problem(
      'recorder',
      o.siteCode,
      `the programme's RTP output to ${o.siteCode} (${o.ip}) stopped: ${why}; starting it again in ${Math.round(delay / 1000)} s`,
    );
    clearTimeout(o.retry);
    o.retry = setTimeout(() => {
      o.retry = undefined;
      if (this.#outputs.get(o.siteCode) !== o || o.ffmpeg || this.#closing) return;
      if (this.#init) this.#startOutput(o, true);
      else o.state = 'waiting'; // started with the composite's next header
      this.#publish();
    }, delay);
    o.retry.unref();
    this.#publish();
  }

  /** Stops an output's ffmpeg (not a failure: nothing is reported). */
  #dropOutput(o: Output): void {
    clearTimeout(o.retry);
    o.retry = undefined;
    const f = o.ffmpeg;
    o.ffmpeg = null;
    o.state = 'waiting';
    void f?.stop(2000, true);
  }

  /** An ffmpeg joining the running composite: its header now, the pieces from the next Cluster on. */
  #join(f: Ffmpeg): void {
    if (!this.#init) return; // it starts with the composite's first piece
    f.stdin.write(this.#init);
    this.#joining.add(f);
  }

  /** A piece to an ffmpeg; false when it is still waiting for a Cluster to start. */
  #feed(f: Ffmpeg, buf: Buffer, cluster: ClusterStart | null): boolean {
    if (this.#joining.has(f)) {
      if (cluster) {
        if (cluster.prefix.length) f.stdin.write(cluster.prefix);
        buf = buf.subarray(cluster.offset);
      } else if (!this.#clusters.lost) return false;
      this.#joining.delete(f);
    }
    f.stdin.write(buf);
    return true;
  }

  #feedOutput(o: Output, buf: Buffer, cluster: ClusterStart | null): void {
    const f = o.ffmpeg;
    if (!f) return;
    if ((f.stdin as Writable).writableLength > OUTPUT_MAX_BACKLOG) {
      f.kill();
      this.#outputDied(o, f, 'ffmpeg stopped taking the programme');
      return;
    }
    this.#feed(f, buf, cluster);
  }

  #retryCompositeLater(): void {
    for (const o of this.#outputs.values()) if (!o.retry) o.state = 'down';
    this.#publish();
    clearTimeout(this.#compositeRetry);
    if (this.#outputs.size === 0 || this.#closing) return;
    this.#compositeRetry = setTimeout(() => this.#queue(() => this.#reconcile()), COMPOSITE_RETRY_MS);
    this.#compositeRetry.unref();
  }

  async #openPage(generation: number): Promise<void> {
    const browser = await chromium.launch({
      executablePath: this.#deps.chromium || '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--autoplay-policy=no-user-gesture-required',
        // Its timers and rendering must not be slowed down as a background page's would be.
        '--disable-background-timer-throttling',
        '--disable-renderer-backgrounding',
        '--disable-backgrounding-occluded-windows',
        // Marks its processes (monitoring counts their CPU: processTreeCpuMs).
        '--hoinghi-programme-recorder',
      ],
    });
    this.#browser = browser;
    browser.on('disconnected', () => this.#pageLost(generation, 'the composite browser ended'));
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    this.#page = page;
    page.on('crash', () => this.#pageLost(generation, 'the composite page crashed'));
    await page.exposeFunction('__hoinghiEgressChunk', (b64: unknown) => {
      if (generation !== this.#generation || typeof b64 !== 'string') return;
      this.#chunk(Buffer.from(b64, 'base64'));
    });
    await page.exposeFunction('__hoinghiEgressStatus', (s: unknown) => {
      if (generation !== this.#generation) return;
      const st = (s ?? {}) as PageStatus;
      // Its MediaRecorder started: the file's time 0 (its first chunk comes a second later).
      if (st.state === 'recording' && this.#part && !this.#header) {
        this.#part.since = Date.now();
        this.#started = true;
        this.#publish();
      }
      if (st.state === 'error')
        this.#deps.recordings.problem(
          'recorder',
          'programme',
          `the composite page: ${String(st.message ?? 'error')}`,
        );
    });
    await page.addInitScript(() => {
      const w = window as unknown as Record<string, unknown>;
      w.hoinghiEgress = {
        chunk: (b64: string) => (w.__hoinghiEgressChunk as (b: string) => Promise<void>)(b64),
        status: (s: unknown) => (w.__hoinghiEgressStatus as (s: unknown) => Promise<void>)(s),
      };
    });
    await page.goto(this.#deps.pageUrl(), { timeout: 30_000 });
  }

  #chunk(buf: Buffer): void {
    const cluster = this.#clusters.push(buf);
    if (!this.#header) {
      this.#header = buf;
      this.#init = webmInitSegment(buf) ?? buf;
      if (this.#clusters.lost) log.warn('the composite WebM cannot be followed: ffmpegs join it mid-Cluster');
      // A page that did not say when it started: its first chunk is the best guess.
      if (this.#part && !this.#started) this.#part.since = Date.now();
      // The outputs waiting for the composite start with it (this piece is its beginning).
      for (const o of this.#outputs.values()) if (!o.ffmpeg && !o.retry) this.#startOutput(o, false);
      this.#publish();
    }
    const part = this.#part;
    if (part && this.#feed(part.file, buf, cluster)) part.bytes += buf.length;
    if (this.#stream) this.#feed(this.#stream, buf, cluster);
    for (const o of this.#outputs.values()) this.#feedOutput(o, buf, cluster);
    const waiters = this.#pieceWaiters;
    this.#pieceWaiters = [];
    for (const w of waiters) w();
  }

  #pageLost(generation: number, why: string): void {
    if (generation !== this.#generation || !this.#wanted) return;
    this.#generation += 1; // what the lost page still sends is ignored
    this.#deps.recordings.problem('recorder', 'programme', `${why}; starting it again`);
    this.#queue(async () => {
      await this.#teardown();
      if (!this.#wanted) return;
      if (!this.#mayRestart())
        return this.#giveUp('recorder', 'programme composite: the page keeps failing', true);
      clearTimeout(this.#restartTimer);
      await new Promise<void>((r) => {
        this.#restartTimer = setTimeout(r, RESTART_DELAY_MS);
      });
      await this.#reconcile();
    });
  }

  #mayRestart(): boolean {
    this.#restarts += 1;
    setTimeout(() => (this.#restarts = Math.max(0, this.#restarts - 1)), 60_000).unref();
    return this.#restarts <= MAX_RESTARTS;
  }

  /**
   * Stops the composite cleanly: the page ends its WebM, ffmpeg finishes the file, which is read
   * back and linked; the RTP outputs stop sending (they stay registered).
   */
  async #stopComposite(failure: string | null): Promise<void> {
    clearInterval(this.#diskCheck);
    clearTimeout(this.#streamRetry);
    const page = this.#page;
    if (page && !page.isClosed())
      await Promise.race([
        page
          .evaluate(() =>
            (
              window as unknown as { hoinghiRecorder?: { stop?: () => Promise<void> } }
            ).hoinghiRecorder?.stop?.(),
          )
          .catch(() => undefined),
        new Promise((r) => setTimeout(r, 5000)),
      ]);
    this.#generation += 1;
    const wasRunning = this.#browser !== null;
    await this.#teardown(failure);
    if (wasRunning) log.info('programme composite stopped');
  }

  /** Closes the page and every ffmpeg (the file's cleanly), and finishes the part. */
  async #teardown(failure: string | null = null): Promise<void> {
    clearInterval(this.#diskCheck);
    this.#generation += 1; // closing its browser is not a page lost
    const browser = this.#browser;
    this.#browser = null;
    this.#page = null;
    this.#header = null;
    this.#init = null;
    this.#clusters = new WebmClusters();
    const part = this.#part;
    this.#part = null;
    const stream = this.#stream;
    this.#stream = null;
    this.#streamState = 'off';
    const outputs: Ffmpeg[] = [];
    for (const o of this.#outputs.values()) {
      if (o.ffmpeg) outputs.push(o.ffmpeg);
      o.ffmpeg = null;
      clearTimeout(o.retry);
      o.retry = undefined;
      o.state = 'waiting';
    }
    for (const w of this.#pieceWaiters.splice(0)) w();
    this.#publish();
    await Promise.all([
      part ? part.file.stop(10_000, true).then(() => this.#finishPart(part, failure)) : undefined,
      stream?.stop(5000, true),
      ...outputs.map((f) => f.stop(2000, true)),
      browser?.close().catch(() => undefined),
    ]);
    this.#publish();
  }

  async #finishPart(part: Part, failure: string | null): Promise<void> {
    const { recordings, service } = this.#deps;
    const sealed = await recordings.seal(part.id, this.#deps.ffprobe, failure);
    if (sealed?.readable) service.observe({ type: 'recording:saved', file: sealed.file });
    log.info('programme part finished', {
      id: part.id,
      durationMs: sealed?.file.durationMs,
      streams: sealed?.file.streams,
    });
  }

  /**
   * Reports a failure that ends the programme recording: the state stops showing it. The
   * composite goes on for the RTP outputs unless it is the composite that failed (`whole`).
   */
  async #giveUp(kind: 'disk' | 'recorder', message: string, whole = false): Promise<void> {
    this.#deps.recordings.problem(kind, 'programme', message);
    const wasRecording = this.#recording;
    this.#recording = false;
    if (whole || this.#outputs.size === 0) await this.#stopComposite(message);
    else await this.#endRecording(message, false);
    if (wasRecording) this.#failed(message);
    if (whole) this.#retryCompositeLater();
  }

  #failed(message: string): void {
    this.#recording = false;
    this.#deps.service.observe({
      type: 'recording:failed',
      kind: 'programme',
      recording: null,
      siteCode: null,
      message,
      final: true,
    });
  }

  #publish(): void {
    const part = this.#part;
    const { recordings } = this.#deps;
    recordings.programme = part
      ? {
          id: part.id,
          since: part.since,
          bytes: part.bytes,
          stream: this.#deps.streamUrl ? this.#streamState : 'off',
        }
      : null;
    recordings.outputs = this.outputs;
    recordings.changed();
  }
}

function outputStatus(o: Output): RtpOutputStatus {
  return { siteCode: o.siteCode, ip: o.ip, videoPort: o.videoPort, audioPort: o.audioPort, state: o.state };
}

/** A stream address without its key (RTMP keys and SRT passphrases are secrets). */
function redact(url: string): string {
  return url.replace(/^(\w+:\/\/[^/?]+).*/, '$1/…');
}
