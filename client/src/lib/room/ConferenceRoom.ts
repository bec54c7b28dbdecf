/**
 * The conference as a page sees it. Pages create a room, call its intents and listen to its
 * events; they never touch the wire (../signal/SignalClient.ts) or the media
 * (../media/MediaEngine.ts), which the room owns and drives: the join, the mirror of the
 * conference state with the server's clock, presence, and the connection state in one place
 * (`#setState`). After a drop the signal client reconnects and the room joins again on its own.
 */
import type { ConferenceState, MinuteEntry } from '../../../../protocol/conference';
import {
  type ClientToServerEvents,
  type CommandEventName,
  ErrorCode,
  type JoinResult,
  type SitePresence,
  type WireError,
} from '../../../../protocol/events';
import type { HealthSample, SiteHealth } from '../../../../protocol/health';
import type { RecordingStatus } from '../../../../protocol/recording';
import { Emitter } from '../Emitter';
import { mark } from '../mark';
import {
  type InboundStat,
  MediaEngine,
  type MediaEvents,
  type OutboundStat,
  type RemoteTrack,
  type ScreenStopReason,
} from '../media/MediaEngine';
import { type Quality, SCREEN } from '../media/quality';
import { RequestError, SignalClient, type SignalState, type StateDetail } from '../signal/SignalClient';
import { isTerminalCode } from '../terminal';

/** The signal client's states, with 'open' told apart: joining, then connected once receiving is set up. */
export type ConnectionState = Exclude<SignalState, 'open'> | 'joining' | 'connected';

export interface RoomEvents {
  state: [state: ConnectionState, detail?: StateDetail];
  joined: [info: JoinResult];
  'track:added': [track: RemoteTrack];
  'track:removed': [consumerId: string];
  presence: [presence: SitePresence];
  /** The conference state changed (queue, floor, layout, agenda …). */
  conference: [state: ConferenceState];
  'local:stream': [stream: MediaStream];
  error: [error: WireError];
  /** This console's screen share started, or stopped (and why). */
  screen: [sharing: boolean, reason?: ScreenStopReason];
  /** Every site's health, each sampling period (chair, co-chair and operators only). */
  health: [sites: SiteHealth[]];
  /** New lines of the minutes, as the server appends them (chair, co-chair and operators only). */
  minutes: [entries: MinuteEntry[]];
  /** The recorders' status (files, disk, problems), when it changes (chair, co-chair and operators only). */
  recording: [status: RecordingStatus];
}

export interface RoomOptions {
  token: string;
  /** Server address; defaults to the page's origin. */
  url?: string;
  /** What to publish. A chair and a site publish camera + microphone; a wall nothing. */
  publish: { camera: boolean; microphone: boolean };
  /**
   * Capture and publish as soon as joined (the chair; a hall kiosk). When false, the page
   * receives the programme at once and publishes when `startPublishing()` is called (after
   * the hall's device check).
   */
  autoPublish?: boolean;
  /**
   * With autoPublish, open the camera only once this settles (a hall: when its programme shows
   * its first frame), and PUBLISH_WAIT_MS after joining at the latest. Opening the camera and
   * starting the encoders meanwhile competes with receiving and decoding that frame.
   */
  publishAfter?: Promise<unknown>;
  /** Camera capture size and simulcast layers: 'normal', or 'low' for halls on a poor link. */
  quality?: Quality;
}

/** How often a hall's (and the chair's) browser reports its own figures. */
const HEALTH_REPORT_MS = 3000;

/** The longest `publishAfter` is waited for (the programme may have no picture: no camera on). */
const PUBLISH_WAIT_MS = 2000;

export class ConferenceRoom extends Emitter<RoomEvents> {
  readonly #opts: RoomOptions;
  readonly #signal: SignalClient;
  readonly #media: MediaEngine;
  #state: ConnectionState = 'connecting';
  #conference?: ConferenceState;
  /** serverNow − local now, from the last state push: countdowns use the server's clock. */
  #clockOffset = 0;
  /**
   * While joining: the presence pushed since the join request went out, and whether a state
   * came. The server takes the join's snapshot as the socket enters the room, so anything
   * pushed after the request is newer than the snapshot (in a join storm, many pushes come
   * before the answer and before the receiving side is ready). Applied over the snapshot.
   */
  #early?: { presence: Map<string, SitePresence>; state: boolean };
  #reporting?: ReturnType<typeof setInterval>;
  /** The last join's answer: a media restart reuses it with a new router and transport. */
  #joinInfo?: JoinResult;
  /** The last `recording:status` pushed (none before the first). */
  #recording?: RecordingStatus;

  constructor(opts: RoomOptions) {
    super();
    this.#opts = opts;
    // Each takes what it needs of the options (the credential; what to publish and how).
    const signal = new SignalClient(opts);
    const media = new MediaEngine(signal, opts);
    this.#signal = signal;
    this.#media = media;
    signal.on('state', (state, detail) => {
      if (state !== 'open') return this.#setState(state, detail);
      void this.#join();
      // With the join request out, load the device while the answer comes.
      media.preload();
    });
    signal.on('presence:changed', (p) => {
      if (this.#early) this.#early.presence.set(p.code, p);
      else this.emit('presence', p);
    });
    signal.on('health:changed', ({ sites }) => this.emit('health', sites));
    signal.on('minutes:appended', ({ entries }) => this.emit('minutes', entries));
    signal.on('recording:status', (status) => {
      this.#recording = status;
      this.emit('recording', status);
    });
    signal.on('media:restart', (fresh) => void this.#restartMedia(fresh));
    signal.on('conference:state', ({ state, serverNow }) => {
      if (this.#early) this.#early.state = true;
      this.#setConference(state, serverNow);
    });
    for (const event of ['track:added', 'track:removed', 'local:stream', 'error', 'screen'] as const)
      media.on(event, (...args: MediaEvents[typeof event]) => this.emit(event, ...args));
    media.on('failed', () => signal.cycle());
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get conference(): ConferenceState | undefined {
    return this.#conference;
  }

  /**
   * The recorders' last status (chair, co-chair and operators); undefined until the first push.
   * The programme recording itself is started and stopped with the commands `recording:start`
   * and `recording:stop` (`command`), and shown to everyone by `conference.recording`.
   */
  get recordingStatus(): RecordingStatus | undefined {
    return this.#recording;
  }

  /** The server's clock, for countdowns. */
  serverNow(): number {
    return Date.now() + this.#clockOffset;
  }

  /** Sends a conference command; resolves when the server accepted it, rejects with a `RequestError`. */
  async command<E extends CommandEventName>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<void> {
    await this.#signal.request(event, payload);
  }

  /** Connects. The camera opens after joining: it is not on the way to the first picture. */
  start(): void {
    // The socket first (its handshake is on the way to the first picture); then, while it
    // connects, fetch the router's capabilities for the device.
    this.#signal.connect();
    this.#media.prefetch();
  }

  stop(): void {
    clearInterval(this.#reporting);
    this.#reporting = undefined;
    this.#signal.close();
    this.#media.drop();
    this.#media.stopCapture();
  }

  /** One site's health over the last hour (chair, co-chair and operators). */
  async healthHistory(code: string): Promise<HealthSample[]> {
    return (await this.#signal.request('health:history', { code })).samples;
  }

  inboundStats(only?: { siteCode?: string; kind?: 'audio' | 'video' }): Promise<InboundStat[]> {
    return this.#media.inboundStats(only);
  }

  outboundStats(): Promise<OutboundStat[]> {
    return this.#media.outboundStats();
  }

  get sharingScreen(): boolean {
    return this.#media.sharingScreen;
  }

  /**
   * Asks the browser for a screen or window and presents it (the console must hold the
   * presentation token; the server refuses it otherwise). Rejects when the user cancels the
   * choice or the server refuses; the 'screen' event says when it starts and stops.
   */
  async shareScreen(): Promise<void> {
    const { width, height, frameRate } = SCREEN.capture;
    const stream = await navigator.mediaDevices.getDisplayMedia({
      video: { width: { ideal: width }, height: { ideal: height }, frameRate: { ideal: frameRate } },
      audio: false,
    });
    const track = stream.getVideoTracks()[0];
    if (!track) throw new RequestError({ code: ErrorCode.MediaError, message: 'no screen track' });
    await this.#media.shareScreen(track);
  }

  stopScreen(): void {
    this.#media.stopScreen();
  }

  /** Publishes this stream (from the device check) now, and again after every rejoin. */
  async startPublishing(stream: MediaStream): Promise<void> {
    this.#media.useStream(stream);
    if (this.#state === 'connected') await this.#media.publish();
  }

  #setConference(state: ConferenceState, serverNow: number): void {
    this.#conference = state;
    this.#clockOffset = serverNow - Date.now();
    this.emit('conference', state);
  }

  #setState(state: ConnectionState, detail: StateDetail = {}): void {
    if (this.#state === state && !detail.code) return;
    this.#state = state;
    this.emit('state', state, detail);
  }

  /**
   * Every HEALTH_REPORT_MS while connected: this browser's own figures for the control room
   * (bitrates both ways, frames per second, freezes, microphone level, round trip time).
   */
  #reportHealth(): void {
    if (this.#reporting) return;
    let last: { at: number; sent: number; received: number; freezes: number } | undefined;
    const tick = async () => {
      if (this.#state !== 'connected') {
        last = undefined;
        return;
      }
      const f = await this.#media.healthFigures();
      const at = performance.now();
      if (last && at > last.at) {
        const kbps = (bytes: number) => Math.max(0, Math.round((bytes * 8) / (at - (last?.at ?? at))));
        const sendKbps = kbps(f.bytesSent - last.sent);
        const recvKbps = kbps(f.bytesReceived - last.received);
        await this.#signal
          .request('stats:report', {
            sendKbps: Math.min(sendKbps, 1_000_000),
            recvKbps: Math.min(recvKbps, 1_000_000),
            fps: Math.min(Math.max(0, f.fps), 1000),
            freezes: Math.max(0, f.freezes - last.freezes),
            audioLevel: Math.min(Math.max(0, f.audioLevel), 1),
            ...(f.rttMs !== null ? { rttMs: Math.min(Math.round(f.rttMs), 600_000) } : {}),
          })
          .catch(() => undefined);
      }
      last = { at, sent: f.bytesSent, received: f.bytesReceived, freezes: f.freezes };
    };
    this.#reporting = setInterval(() => void tick().catch(() => undefined), HEALTH_REPORT_MS);
  }

  /**
   * The server placed this session's media again (its worker died, or a transport failed):
   * receive on the new transport and publish again, in the same session. If that fails,
   * a fresh session (same credential, same place) does it.
   */
  async #restartMedia(fresh: Pick<JoinResult, 'routerRtpCapabilities' | 'recvTransport'>): Promise<void> {
    const info = this.#joinInfo;
    if (!info || this.#state !== 'connected') return;
    this.#media.drop();
    try {
      const rtpCapabilities = await this.#media.receive({ ...info, ...fresh });
      await this.#signal.request('session:ready', { rtpCapabilities });
      if (this.#media.hasLocalStream) await this.#media.publish();
    } catch {
      this.#signal.cycle();
    }
  }

  async #join(): Promise<void> {
    this.#setState('joining');
    const early = { presence: new Map<string, SitePresence>(), state: false };
    this.#early = early;
    try {
      const info = await this.#signal.request('session:join', {});
      mark('joined');
      if (!early.state) this.#setConference(info.state, info.serverNow);
      const rtpCapabilities = await this.#media.receive(info);
      await this.#signal.request('session:ready', { rtpCapabilities });
      mark('ready');
      this.#setState('connected');
      const presence = info.presence.map((p) => early.presence.get(p.code) ?? p);
      this.#early = undefined;
      this.#joinInfo = info;
      this.emit('joined', { ...info, presence });
      if (info.role === 'site' || info.role === 'chair') this.#reportHealth();
      // The camera opens once receiving is set up (with publishAfter, once that settles): it is
      // not on the way to the first picture.
      if (this.#opts.autoPublish !== false && !this.#media.hasLocalStream) {
        if (this.#opts.publishAfter) {
          await Promise.race([this.#opts.publishAfter, new Promise((r) => setTimeout(r, PUBLISH_WAIT_MS))]);
          if (this.#state === 'closed' || this.#state === 'refused') return;
        }
        this.#media.capture();
      }
      await this.#media.publish();
    } catch (e) {
      if (this.#early === early) this.#early = undefined;
      const error: WireError =
        e instanceof RequestError ? e.error : { code: ErrorCode.Internal, message: String(e) };
      if (isTerminalCode(error.code)) {
        // The credential expired or was revoked while connecting: rejoining cannot help.
        this.#signal.refuse(error.code);
        return;
      }
      this.emit('error', error);
      // A join that failed half-way is retried from scratch by reconnecting.
      this.#signal.restart(2000);
    }
  }
}
