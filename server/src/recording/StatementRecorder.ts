/**
 * Every statement on air recorded to its own file: when a site is granted the floor, its camera
 * and microphone and the chair's microphone are tapped out of the SFU (ConferenceMedia.openTap:
 * plain RTP to 127.0.0.1, no transcoding) into ffmpeg, which writes them as they are to Matroska
 * (VP8 or H.264 video, Opus audio). When the floor ends the file is finished, read back with
 * ffprobe and linked from the minutes (`floor.ended` carries its id, `recording.saved` follows).
 *
 * It follows the conference state and never changes it except through `observe` events. Any
 * failure (ffmpeg missing or dead, a full disk) is reported to the operators and logged; the
 * statement and the conference go on.
 */
import fs from 'node:fs';
import type { types } from 'mediasoup';
import type { ConferenceState, OnAir } from '../core/model';
import { createLogger } from '../logger';
import type { ConferenceMedia, Tap } from '../media/ConferenceMedia';
import type { ConferenceService } from '../service/ConferenceService';
import {
  Ffmpeg,
  RtpRelay,
  freePortPairs,
  monotonicMs,
  sdpFor,
  waitForListeners,
  QUIET,
  toMatroska,
} from './ffmpeg';
import type { Recordings } from './Recordings';

const log = createLogger('recording:statement');

/** How long the speaker's media is waited for after the grant (it may be joining still). */
const MEDIA_WAIT_MS = 10_000;

interface Running {
  requestId: string;
  siteCode: string;
  id: string;
  tap: Tap;
  relays: RtpRelay[];
  ffmpeg: Ffmpeg;
  since: number;
  failed: boolean;
}

export interface StatementRecorderDeps {
  media: () => ConferenceMedia;
  service: ConferenceService;
  recordings: Recordings;
  ffmpeg: string;
  ffprobe: string;
}

export class StatementRecorder {
  readonly #deps: StatementRecorderDeps;
  #running: Running | null = null;
  /** The floor request being started (or given up on): one attempt per statement. */
  #attempted: string | null = null;
  #chain: Promise<void> = Promise.resolve();
  #stopped = false;
  /** Files being finished (ffmpeg ending, ffprobe reading them back). */
  readonly #finishing = new Set<Promise<void>>();

  constructor(deps: StatementRecorderDeps) {
    this.#deps = deps;
  }

  /** The ffmpeg of the statement being recorded (tests and the CPU figures). */
  get ffmpegPid(): number | undefined {
    return this.#running?.ffmpeg.pid;
  }

  /** Called on every change of the conference state; the work is queued, one step at a time. */
  follow(state: ConferenceState): void {
    const on = state.onAir;
    const current = this.#running?.requestId ?? this.#attempted;
    if (current && on?.requestId !== current) this.#queue(() => this.#stop());
    if (on && on.requestId !== this.#attempted && !this.#stopped) {
      this.#attempted = on.requestId;
      const chair = state.chairHolder;
      this.#queue(() => this.#start(on, chair));
    }
    if (!on) this.#attempted = null;
  }

  /** Finishes the current recording (the server is stopping). */
  async close(): Promise<void> {
    this.#stopped = true;
    this.#queue(() => this.#stop());
    await this.#chain;
    await Promise.all([...this.#finishing]);
  }

  #queue(step: () => Promise<void>): void {
    this.#chain = this.#chain
      .then(step)
      .catch((e: unknown) => log.error('statement recorder step failed', { error: e }));
  }

  async #start(on: OnAir, chairHolder: string): Promise<void> {
    const { recordings, service } = this.#deps;
    const stillOn = () => service.state.onAir?.requestId === on.requestId && !this.#stopped;
    if (!stillOn()) return;
    const refusal = recordings.diskRefusal();
    if (refusal) {
      this.#fail(on, null, `not recorded: ${refusal}`, 'disk');
      return;
    }
    // The speaker's media, waited for a little (a hall granted while it is still publishing).
    const deadline = Date.now() + MEDIA_WAIT_MS;
    let producers: types.Producer[] = [];
    for (;;) {
      if (!stillOn()) return;
      const media = this.#deps.media();
      const cam = media.producerOf({ siteCode: on.siteCode }, 'camera');
      const mic = media.producerOf({ siteCode: on.siteCode }, 'microphone');
      const chair = media.producerOf({ principal: chairHolder }, 'microphone');
      producers = [cam, mic, chair].filter((p): p is types.Producer => p !== undefined);
      if ((cam && mic) || (producers.length > 0 && Date.now() > deadline)) break;
      if (Date.now() > deadline) {
        this.#fail(on, null, 'not recorded: the speaking site publishes no camera or microphone', 'recorder');
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const at = Date.now();
    const id = recordings.newId(on.siteCode, at);
    let tap: Tap | undefined;
    let ffmpeg: Ffmpeg | undefined;
    const relays: RtpRelay[] = [];
    let run: Running | undefined;
    try {
      // The tap starts at once into local relays, which keep the packets until ffmpeg listens:
      // the file begins at the grant however long ffmpeg takes to start.
      for (const _ of producers) relays.push(await RtpRelay.open());
      tap = await this.#deps
        .media()
        .openTap(producers.map((producer, i) => ({ producer, port: (relays[i] as RtpRelay).port })));
      // The file's origin, a little before the first packet can come (it is the same clock as
      // the SFU's reports; ffmpeg then starts the file at its first packet).
      const startMs = monotonicMs() - 50;
      tap.streams.forEach((st, i) => {
        (relays[i] as RtpRelay).timing = { startMs, clockRate: st.clockRate };
      });
      await tap.start();
      const ports = await freePortPairs(producers.length);
      const sdpFile = `${recordings.file(id)}.sdp`;
      fs.writeFileSync(sdpFile, sdpFor(tap.streams.map((st, i) => ({ ...st, port: ports[i] as number }))));
      recordings.begin(id, 'statement', on.siteCode, on.requestId, at);
      ffmpeg = new Ffmpeg(this.#deps.ffmpeg, [
        ...QUIET,
        '-protocol_whitelist',
        'file,udp,rtp',
        '-fflags',
        '+genpts',
        '-analyzeduration',
        '3000000',
        '-i',
        sdpFile,
        ...toMatroska(recordings.file(id)),
      ]);
      run = {
        requestId: on.requestId,
        siteCode: on.siteCode,
        id,
        tap,
        relays,
        ffmpeg,
        since: at,
        failed: false,
      };
      const started = run;
      ffmpeg.onDeath = (why) => {
        started.failed = true;
        // Before it was running, the start itself fails and says so.
        if (this.#running !== started) return;
        closeTap(started);
        recordings.problem('recorder', on.siteCode, `statement recording stopped: ${why}`);
        void this.#finish(started, why);
      };
      this.#running = run;
      recordings.statement = { id, siteCode: on.siteCode, since: at };
      recordings.changed();
      service.observe({ type: 'recording:statement', requestId: on.requestId, recording: id });
      await waitForListeners(ports, 10_000, () => ffmpeg?.alive ?? false);
      relays.forEach((r, i) => r.forwardTo(ports[i] as number));
      // No extra key-frame requests: the consumer asks once when it resumes; more (a PLI storm
      // while a simulcast consumer settles its layer) left a 1 s hole in the video.
      fs.rmSync(sdpFile, { force: true });
      if (run.failed) return;
      log.info('recording a statement', {
        id,
        site: on.siteCode,
        streams: tap.streams.map((st) => st.mimeType),
      });
      if (!stillOn()) await this.#stop();
    } catch (e) {
      if (this.#running?.id === id) {
        this.#running = null;
        recordings.statement = null;
      }
      tap?.close();
      relays.forEach((r) => r.close());
      ffmpeg?.kill();
      fs.rmSync(`${recordings.file(id)}.sdp`, { force: true });
      // Died once running: already reported and finished by its onDeath.
      if (run?.failed) return;
      const message = e instanceof Error ? e.message : String(e);
      if (recordings.get(id)) recordings.finish(id, { endedAt: Date.now(), ok: false, error: message });
      this.#fail(on, id, `statement recording could not start: ${message}`, 'recorder');
    }
  }

  async #stop(): Promise<void> {
    const run = this.#running;
    if (!run) return;
    this.#running = null;
    this.#deps.recordings.statement = null;
    this.#deps.recordings.changed();
    // ffmpeg finishes the file while the packets still come; the next statement need not wait.
    const done = run.ffmpeg
      .stop()
      .then(() => closeTap(run))
      .then(() => this.#finish(run, null))
      .catch((e: unknown) => log.error('finishing a statement recording failed', { id: run.id, error: e }))
      .finally(() => this.#finishing.delete(done));
    this.#finishing.add(done);
  }

  /** Reads the finished file back and links it from the minutes (or reports its failure). */
  async #finish(run: Running, failure: string | null): Promise<void> {
    const { recordings, service } = this.#deps;
    if (this.#running === run) {
      this.#running = null;
      recordings.statement = null;
    }
    const sealed = await recordings.seal(run.id, this.#deps.ffprobe, failure);
    if (!sealed) return;
    const { file: f, readable } = sealed;
    if (readable) service.observe({ type: 'recording:saved', file: f });
    if (failure || !readable)
      service.observe({
        type: 'recording:failed',
        kind: 'statement',
        recording: run.id,
        siteCode: run.siteCode,
        message: failure ?? 'the file cannot be read',
        final: false,
      });
    log.info('statement recording finished', {
      id: run.id,
      durationMs: f.durationMs,
      streams: f.streams,
      ok: f.ok,
    });
  }

  #fail(on: OnAir, id: string | null, message: string, kind: 'disk' | 'recorder'): void {
    this.#deps.recordings.problem(kind, on.siteCode, message);
    this.#deps.service.observe({
      type: 'recording:failed',
      kind: 'statement',
      recording: id,
      siteCode: on.siteCode,
      message,
      final: false,
    });
  }
}

function closeTap(run: Running): void {
  run.tap.close();
  for (const r of run.relays) r.close();
}
