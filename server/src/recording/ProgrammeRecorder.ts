/**
 * The programme composite, recorded and streamed the way egress services do it: a headless
 * Chromium opens the recorder page (client/src/recorder) with a credential the server signs for
 * itself (role `recorder`: it receives what a hall receives and publishes nothing); the page
 * draws the programme (layout, names, presentation) into a canvas, mixes its sound, and hands
 * its MediaRecorder's WebM (VP8 + Opus) here chunk by chunk. One ffmpeg writes it to a Matroska
 * file as it is (no transcoding); when `recording.streamUrl` is set, a second ffmpeg encodes it
 * to H.264 + AAC for an RTMP or SRT destination, so a broken stream never costs the file.
 *
 * It follows `state.recording` (the chair's or an operator's `recording:start` / `recording:stop`).
 * Failures are reported to the operators and logged, and the conference goes on: a dead ffmpeg
 * or page is started again (the file continues in a new part), an unreachable stream is retried,
 * a full disk ends the recording (`recording.failed`, final).
 */
import { type Browser, type Page, chromium } from 'playwright-core';
import type { ConferenceState } from '../core/model';
import { createLogger } from '../logger';
import type { ConferenceService } from '../service/ConferenceService';
import { Ffmpeg, cpuMs, probe, processTreeCpuMs } from './ffmpeg';
import type { Recordings } from './Recordings';

const log = createLogger('recording:programme');

/** How often the disk is checked while recording. */
const DISK_CHECK_MS = 5000;
/** Restarts of a dead part before giving up (the count resets after a minute of running). */
const MAX_RESTARTS = 5;
const RESTART_DELAY_MS = 2000;
const STREAM_RETRY_MS = 5000;

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

interface Part {
  id: string;
  since: number;
  file: Ffmpeg;
}

/** The page's own report of itself (see client/src/recorder). */
interface PageStatus {
  state?: string;
  message?: string;
}

export class ProgrammeRecorder {
  readonly #deps: ProgrammeRecorderDeps;
  #browser: Browser | null = null;
  #page: Page | null = null;
  #part: Part | null = null;
  #stream: Ffmpeg | null = null;
  #streamState: 'off' | 'up' | 'down' = 'off';
  #streamRetry: NodeJS.Timeout | undefined;
  /** The WebM header (the page's first chunk): every new ffmpeg is fed it first. */
  #header: Buffer | null = null;
  #bytes = 0;
  /** The page said its MediaRecorder started. */
  #started = false;
  #active = false;
  #chain: Promise<void> = Promise.resolve();
  #diskCheck: NodeJS.Timeout | undefined;
  #restarts = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #generation = 0;

  constructor(deps: ProgrammeRecorderDeps) {
    this.#deps = deps;
  }

  /** Processes doing the work now (for the CPU figures): ffmpeg's pids. */
  get ffmpegPids(): number[] {
    return [this.#part?.file.pid, this.#stream?.pid].filter((p): p is number => p !== undefined);
  }

  get recording(): boolean {
    return this.#part !== null;
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
    if (want === this.#active) return;
    this.#active = want;
    this.#queue(() => (want ? this.#start() : this.#stop(null)));
  }

  async close(): Promise<void> {
    this.#active = false;
    this.#queue(() => this.#stop(null));
    await this.#chain;
  }

  #queue(step: () => Promise<void>): void {
    this.#chain = this.#chain
      .then(step)
      .catch((e: unknown) => log.error('programme recorder step failed', { error: e }));
  }

  async #start(): Promise<void> {
    if (!this.#active) return;
    const { recordings } = this.#deps;
    const refusal = recordings.diskRefusal();
    if (refusal) return this.#giveUp('disk', `the programme is not recorded: ${refusal}`);
    const generation = ++this.#generation;
    this.#header = null;
    this.#started = false;
    this.#bytes = 0;
    try {
      this.#openPart();
      if (this.#deps.streamUrl) this.#openStream();
      await this.#openPage(generation);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      await this.#teardown();
      this.#deps.recordings.problem(
        'recorder',
        'programme',
        `the programme recorder could not start: ${message}`,
      );
      this.#failed(`the programme recorder could not start: ${message}`);
      return;
    }
    clearInterval(this.#diskCheck);
    this.#diskCheck = setInterval(() => {
      const why = recordings.diskRefusal();
      if (why && this.#part) this.#queue(() => this.#giveUp('disk', `programme recording stopped: ${why}`));
      else this.#publish();
    }, DISK_CHECK_MS);
    this.#diskCheck.unref();
    this.#publish();
    log.info('recording the programme', { id: this.#part?.id, stream: this.#deps.streamUrl !== '' });
  }

  /** A new file (part) written by a new ffmpeg from the page's WebM, copied as it is. */
  #openPart(): void {
    const { recordings } = this.#deps;
    const at = Date.now();
    const id = recordings.newId('programme', at);
    recordings.begin(id, 'programme', null, null, at);
    const file = new Ffmpeg(this.#deps.ffmpeg, [
      '-hide_banner',
      '-nostats',
      '-loglevel',
      'warning',
      '-f',
      'webm',
      '-i',
      'pipe:0',
      '-map',
      '0',
      '-c',
      'copy',
      '-f',
      'matroska',
      '-y',
      recordings.file(id),
    ]);
    const part: Part = { id, since: at, file };
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
        if (!this.#active || this.#part) return;
        if (!this.#mayRestart()) return this.#giveUp('recorder', 'programme recording: ffmpeg keeps dying');
        const refusal = this.#deps.recordings.diskRefusal();
        if (refusal) return this.#giveUp('disk', `programme recording stopped: ${refusal}`);
        this.#openPart();
        if (this.#header && this.#part) (this.#part as Part).file.stdin.write(this.#header);
        this.#publish();
      });
    };
    this.#part = part;
  }

  #openStream(): void {
    const url = this.#deps.streamUrl;
    const srt = url.startsWith('srt:');
    const stream = new Ffmpeg(this.#deps.ffmpeg, [
      '-hide_banner',
      '-nostats',
      '-loglevel',
      'warning',
      '-f',
      'webm',
      '-i',
      'pipe:0',
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
    if (this.#header) stream.stdin.write(this.#header);
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
        if (this.#active && this.#part && !this.#stream) {
          this.#openStream();
          this.#publish();
        }
      }, STREAM_RETRY_MS);
      this.#streamRetry.unref();
    };
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
    if (!this.#header) {
      this.#header = buf;
      // A page that did not say when it started: its first chunk is the best guess.
      if (this.#part && !this.#started) this.#part.since = Date.now();
      this.#publish();
    }
    this.#bytes += buf.length;
    this.#part?.file.stdin.write(buf);
    this.#stream?.stdin.write(buf);
  }

  #pageLost(generation: number, why: string): void {
    if (generation !== this.#generation || !this.#active) return;
    this.#generation += 1; // what the lost page still sends is ignored
    this.#deps.recordings.problem('recorder', 'programme', `${why}; starting it again`);
    this.#queue(async () => {
      await this.#teardown();
      if (!this.#active) return;
      if (!this.#mayRestart())
        return this.#giveUp('recorder', 'programme recording: the composite page keeps failing');
      clearTimeout(this.#restartTimer);
      await new Promise<void>((r) => {
        this.#restartTimer = setTimeout(r, RESTART_DELAY_MS);
      });
      await this.#start();
    });
  }

  #mayRestart(): boolean {
    this.#restarts += 1;
    setTimeout(() => (this.#restarts = Math.max(0, this.#restarts - 1)), 60_000).unref();
    return this.#restarts <= MAX_RESTARTS;
  }

  /** Stops cleanly: the page ends its WebM, ffmpeg finishes the file, which is read back and linked. */
  async #stop(failure: string | null): Promise<void> {
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
    await this.#teardown(failure);
    log.info('programme recording stopped');
  }

  /** Closes the page and both ffmpegs (the file's cleanly), and finishes the part. */
  async #teardown(failure: string | null = null): Promise<void> {
    const browser = this.#browser;
    this.#browser = null;
    this.#page = null;
    const part = this.#part;
    this.#part = null;
    const stream = this.#stream;
    this.#stream = null;
    this.#streamState = 'off';
    this.#deps.recordings.programme = null;
    this.#deps.recordings.changed();
    await Promise.all([
      part ? part.file.stop(10_000, true).then(() => this.#finishPart(part, failure)) : undefined,
      stream?.stop(5000, true),
      browser?.close().catch(() => undefined),
    ]);
    this.#deps.recordings.programme = null;
    this.#deps.recordings.changed();
  }

  async #finishPart(part: Part, failure: string | null): Promise<void> {
    const { recordings, service } = this.#deps;
    const p = await probe(this.#deps.ffprobe, recordings.file(part.id));
    const readable = p.durationMs !== null && p.streams.length > 0;
    const f = recordings.finish(part.id, {
      endedAt: Date.now(),
      durationMs: p.durationMs,
      streams: p.streams,
      ok: readable && failure === null,
      ...(failure ? { error: failure } : !readable ? { error: 'the file cannot be read' } : {}),
    });
    if (f && readable) service.observe({ type: 'recording:saved', file: f });
    log.info('programme part finished', { id: part.id, durationMs: p.durationMs, streams: p.streams });
  }

  /** Reports a failure that ends the programme recording: the state stops showing it. */
  async #giveUp(kind: 'disk' | 'recorder', message: string): Promise<void> {
    this.#deps.recordings.problem(kind, 'programme', message);
    this.#active = false;
    await this.#stop(message);
    this.#failed(message);
  }

  #failed(message: string): void {
    this.#active = false;
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
    this.#deps.recordings.programme = part
      ? {
          id: part.id,
          since: part.since,
          bytes: this.#bytes,
          stream: this.#deps.streamUrl ? this.#streamState : 'off',
        }
      : null;
    this.#deps.recordings.changed();
  }
}

/** A stream address without its key (RTMP keys and SRT passphrases are secrets). */
function redact(url: string): string {
  return url.replace(/^(\w+:\/\/[^/?]+).*/, '$1/…');
}
