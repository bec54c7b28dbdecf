/**
 * The one module that owns socket.io-client and mediasoup-client. Pages create it,
 * call its intent methods and listen to its events; they never touch the wire.
 *
 * Connection states change in one place (`#setState`). After a drop the client
 * reconnects and joins again on its own; a refused credential (missing, invalid, expired,
 * revoked) or a session closed as replaced, expired or revoked ends it for good (./terminal.ts).
 */
import type { Device, types as ms } from 'mediasoup-client';
import { io, type Socket } from 'socket.io-client';
import type {
  Ack,
  AckFn,
  ClientToServerEvents,
  CloseReason,
  ConnectErrorData,
  CommandEventName,
  ConsumerOffer,
  JoinResult,
  MediaSource,
  ServerToClientEvents,
  SitePresence,
  TransportOptions,
  WireError,
} from '../../../protocol/events';
import type { ConferenceState } from '../../../protocol/conference';
import { Emitter } from './Emitter';
import { isTerminalCode, isTerminalReason } from './terminal';

export type ConnectionState = 'connecting' | 'joining' | 'connected' | 'reconnecting' | 'refused' | 'closed';

export interface RemoteTrack {
  consumerId: string;
  offer: ConsumerOffer;
  track: MediaStreamTrack;
}

export interface InboundStat {
  consumerId: string;
  siteCode: string;
  role: string;
  kind: 'audio' | 'video';
  bytesReceived: number;
  packetsReceived: number;
  /** Packets the receiver counts as missing (from the sequence numbers). */
  packetsLost: number;
  framesDecoded: number;
  /** Size of the last decoded frame (video; 0 before the first). */
  frameWidth: number;
  frameHeight: number;
  audioLevel: number;
  totalAudioEnergy: number;
}

export interface OutboundStat {
  source: MediaSource;
  paused: boolean;
  bytesSent: number;
  packetsSent: number;
  /** Per simulcast layer (rid), lowest first. */
  layers: OutboundLayer[];
}

export interface OutboundLayer {
  rid: string;
  bytesSent: number;
  framesEncoded: number;
  /** Size of the last encoded frame (0 before the first). */
  frameWidth: number;
  frameHeight: number;
  /** Why Chromium encodes below the asked quality: 'none', 'bandwidth', 'cpu' or 'other'. */
  qualityLimitationReason: string;
}

export interface ClientEvents {
  state: [state: ConnectionState, detail?: { code?: string; reason?: CloseReason }];
  joined: [info: JoinResult];
  'track:added': [track: RemoteTrack];
  'track:removed': [consumerId: string];
  presence: [presence: SitePresence];
  /** The conference state changed (queue, floor, layout, agenda …). */
  conference: [state: ConferenceState];
  'local:stream': [stream: MediaStream];
  error: [error: WireError];
}

export interface ClientOptions {
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

/** Error for a refused request, carrying the wire code. */
export class RequestError extends Error {
  constructor(readonly error: WireError) {
    super(`${error.code}: ${error.message}`);
  }
}

const REQUEST_TIMEOUT_MS = 10_000;
/** The longest `publishAfter` is waited for (the programme may have no picture: no camera on). */
const PUBLISH_WAIT_MS = 2000;

export type Quality = 'normal' | 'low';

interface QualityProfile {
  /** What the camera is asked for (ideals: a camera that cannot is still used, at what it gives). */
  capture: { width: number; height: number; frameRate: number };
  /** VP8 simulcast layers, lowest first. */
  encodings: ms.RtpEncodingParameters[];
}

/**
 * VP8 simulcast: the wall's and chair's tiles take the lowest layer, the programme the highest.
 * Chromium gives a capture only as many layers as its size allows (1280×720 and up: 3,
 * 640×360: 2, 320×180: 1; it silently drops the top ones), so the capture must be the size of
 * the top layer. The lowest layer is 320×180 in both profiles, so tiles look the same.
 *
 * - normal (1280×720 at 25 fps): 320×180 at 150 kbit/s, 640×360 at 500 kbit/s, 1280×720 at
 *   1,200 kbit/s (a seated speaker, little motion) — 1,850 kbit/s of video up, ~1.9 Mbit/s with
 *   the 32 kbit/s of Opus.
 * - low (`?q=low`, a hall on a weak link; 640×360 at 15 fps): 320×180 at 100 kbit/s and
 *   640×360 at 400 kbit/s — 500 kbit/s of video up, ~0.53 Mbit/s with Opus. On air it is seen at
 *   640×360.
 *
 * These are ceilings: Chromium sends less when its bandwidth estimate is lower, dropping the top
 * layer first. See "Bandwidth budget" in the README.
 */
const QUALITY: Record<Quality, QualityProfile> = {
  normal: {
    capture: { width: 1280, height: 720, frameRate: 25 },
    encodings: [
      { rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 150_000, maxFramerate: 25 },
      { rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 500_000, maxFramerate: 25 },
      { rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: 1_200_000, maxFramerate: 25 },
    ],
  },
  low: {
    capture: { width: 640, height: 360, frameRate: 15 },
    encodings: [
      { rid: 'r0', scaleResolutionDownBy: 2, maxBitrate: 100_000, maxFramerate: 15 },
      { rid: 'r1', scaleResolutionDownBy: 1, maxBitrate: 400_000, maxFramerate: 15 },
    ],
  },
};

/** The camera constraints of a profile (the client's own capture and the hall's device check alike). */
export function videoConstraints(quality: Quality = 'normal', deviceId?: string): MediaTrackConstraints {
  const { width, height, frameRate } = QUALITY[quality].capture;
  return {
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    width: { ideal: width },
    height: { ideal: height },
    // Ideal only: a required `max` could refuse a camera outright. The encodings cap the rate.
    frameRate: { ideal: frameRate },
  };
}

type Socket_ = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Timeline marks (performance.mark, first occurrence only) so join time can be measured and explained. */
export function mark(name: string): void {
  const full = `hoinghi:${name}`;
  if (performance.getEntriesByName(full).length === 0) performance.mark(full);
}

/**
 * mediasoup-client is two thirds of a console's script: it is set up when the first device is
 * made (once the socket has connected), not while the page loads, so the socket opens sooner.
 */
async function newDevice(): Promise<Device> {
  const { Device } = await import('mediasoup-client');
  return new Device();
}

export class ConferenceClient extends Emitter<ClientEvents> {
  readonly #opts: ClientOptions;
  #socket?: Socket_;
  #state: ConnectionState = 'connecting';
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #device?: Device;
  #sendTransport?: ms.Transport;
  #recvTransport?: ms.Transport;
  readonly #consumers = new Map<string, { consumer: ms.Consumer; offer: ConsumerOffer }>();
  readonly #producers = new Map<MediaSource, ms.Producer>();
  #layersQueue: Promise<void> = Promise.resolve();
  #localStream?: Promise<MediaStream | undefined>;
  /** Set when publishing began for the current session (reset when the session's media drops). */
  #publishStarted = false;
  #closeReason?: CloseReason;
  #conference?: ConferenceState;
  /** serverNow − local now, from the last state push: countdowns use the server's clock. */
  #clockOffset = 0;
  #routerCaps?: Promise<ms.RtpCapabilities | undefined>;
  #preloaded?: Promise<{ device: Device; capsKey: string } | undefined>;

  constructor(opts: ClientOptions) {
    super();
    this.#opts = opts;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get conference(): ConferenceState | undefined {
    return this.#conference;
  }

  /** The server's clock, for countdowns. */
  serverNow(): number {
    return Date.now() + this.#clockOffset;
  }

  /** Sends a conference command; resolves when the server accepted it, rejects with its error code. */
  async command<E extends CommandEventName>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<void> {
    await this.#request(event, payload as never);
  }

  /** Starts capturing and connecting at once: both are on the path to the first frame. */
  start(): void {
    const socket: Socket_ = io(this.#opts.url ?? window.location.origin, {
      auth: { token: this.#opts.token },
      transports: ['websocket'],
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
    });
    this.#socket = socket;
    socket.on('connect', () => {
      clearTimeout(this.#reconnectTimer);
      mark('connected');
      void this.#join();
      // With the join request out, set up mediasoup-client and load the device (40–100 ms, much
      // of it on this thread) while the answer comes: during the handshake it delayed that instead.
      this.#preloaded ??= this.#preloadDevice();
    });
    socket.on('connect_error', (err: Error & { data?: ConnectErrorData }) => {
      const code = err.data?.code;
      if (isTerminalCode(code)) {
        socket.disconnect();
        this.#setState('refused', { code });
        return;
      }
      this.#setState('reconnecting');
      // Refused by the server's handshake check (too many connections on this link, a server
      // error): socket.io does not retry those by itself. Try again when the server says, with jitter.
      if (!socket.active)
        this.#reconnectLater((err.data?.retryAfterMs ?? 2000) + Math.floor(Math.random() * 1000));
    });
    socket.on('disconnect', (reason) => {
      this.#dropMedia();
      const closeReason = this.#closeReason;
      if (closeReason && isTerminalReason(closeReason)) {
        // No reconnecting, not even by socket.io's own manager after a transport close.
        socket.disconnect();
        this.#setState('closed', { reason: closeReason });
        return;
      }
      if (this.#state === 'closed' || this.#state === 'refused') return;
      this.#setState('reconnecting', this.#closeReason ? { reason: this.#closeReason } : {});
      // socket.io does not reconnect after a server-side disconnect: do it ourselves.
      if (reason === 'io server disconnect') this.#reconnectLater(1000);
    });
    socket.on('session:closed', ({ reason }) => {
      this.#closeReason = reason;
    });
    socket.on('consumer:added', (offer, ack) => void this.#onConsumerOffer(offer, ack));
    socket.on('consumer:closed', ({ id }) => this.#removeConsumer(id));
    socket.on('producer:layers', ({ producerId, spatialLayer }) =>
      this.#setCameraLayers(producerId, spatialLayer),
    );
    socket.on('presence:changed', (p) => this.emit('presence', p));
    // The socket first (its handshake is on the way to the first picture); then, while it
    // connects, fetch the router's capabilities for the device. The camera opens after joining.
    this.#routerCaps = this.#fetchRouterCaps();

    socket.on('conference:state', ({ state, serverNow }) => this.#setConference(state, serverNow));
  }

  stop(): void {
    clearTimeout(this.#reconnectTimer);
    this.#setState('closed');
    this.#socket?.disconnect();
    this.#dropMedia();
    void this.#localStream?.then((s) => s?.getTracks().forEach((t) => t.stop()));
  }

  /**
   * Per received track: bytes, decoded frames and audio level, from RTCPeerConnection stats. One
   * report for the whole receiving connection (matched to each track by its id): asking each of
   * a wall's 64 receivers in turn costs 64 full reports, seconds of a busy page's main thread.
   */
  async inboundStats(only?: { siteCode?: string; kind?: 'audio' | 'video' }): Promise<InboundStat[]> {
    const byTrack = new Map<string, Record<string, unknown>>();
    let unmatched = false;
    (await this.#recvTransport?.getStats())?.forEach((r: Record<string, unknown>) => {
      if (r.type !== 'inbound-rtp') return;
      if (typeof r.trackIdentifier === 'string') byTrack.set(r.trackIdentifier, r);
      else unmatched = true;
    });
    const out: InboundStat[] = [];
    for (const { consumer, offer } of this.#consumers.values()) {
      if (only?.siteCode && offer.site.code !== only.siteCode) continue;
      if (only?.kind && offer.kind !== only.kind) continue;
      // Before its first packet a receiver has no inbound-rtp report: that is zero received.
      let s: Record<string, unknown> = byTrack.get(consumer.track.id) ?? {};
      if (unmatched && !byTrack.has(consumer.track.id)) {
        // A browser whose reports do not name the track: this receiver's own report.
        (await consumer.getStats()).forEach((r: Record<string, unknown>) => {
          if (r.type === 'inbound-rtp') s = r;
        });
      }
      out.push({
        consumerId: consumer.id,
        siteCode: offer.site.code,
        role: offer.role,
        kind: offer.kind,
        bytesReceived: Number(s.bytesReceived ?? 0),
        packetsReceived: Number(s.packetsReceived ?? 0),
        packetsLost: Number(s.packetsLost ?? 0),
        framesDecoded: Number(s.framesDecoded ?? 0),
        frameWidth: Number(s.frameWidth ?? 0),
        frameHeight: Number(s.frameHeight ?? 0),
        audioLevel: Number(s.audioLevel ?? 0),
        totalAudioEnergy: Number(s.totalAudioEnergy ?? 0),
      });
    }
    return out;
  }

  /** Publishes this stream (from the device check) now, and again after every rejoin. */
  async startPublishing(stream: MediaStream): Promise<void> {
    this.#localStream = Promise.resolve(stream);
    this.emit('local:stream', stream);
    if (this.#state === 'connected') await this.#publish();
  }

  /** Per published source: what this browser sends (whatever the server then forwards). */
  async outboundStats(): Promise<OutboundStat[]> {
    const out: OutboundStat[] = [];
    for (const [source, producer] of this.#producers) {
      let bytesSent = 0;
      let packetsSent = 0;
      const layers: OutboundStat['layers'] = [];
      (await producer.getStats()).forEach((s: Record<string, unknown>) => {
        if (s.type !== 'outbound-rtp') return;
        bytesSent += Number(s.bytesSent ?? 0);
        packetsSent += Number(s.packetsSent ?? 0);
        if (s.rid)
          layers.push({
            rid: String(s.rid),
            bytesSent: Number(s.bytesSent ?? 0),
            framesEncoded: Number(s.framesEncoded ?? 0),
            frameWidth: Number(s.frameWidth ?? 0),
            frameHeight: Number(s.frameHeight ?? 0),
            qualityLimitationReason: String(s.qualityLimitationReason ?? 'none'),
          });
      });
      layers.sort((a, b) => a.rid.localeCompare(b.rid));
      out.push({ source, paused: producer.paused, bytesSent, packetsSent, layers });
    }
    return out;
  }

  async #capture(): Promise<MediaStream | undefined> {
    const { camera, microphone } = this.#opts.publish;
    if (!camera && !microphone) return undefined;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: microphone ? { echoCancellation: true, noiseSuppression: true } : false,
        video: camera ? videoConstraints(this.#opts.quality) : false,
      });
      this.emit('local:stream', stream);
      return stream;
    } catch (e) {
      this.emit('error', { code: 'MEDIA_ERROR', message: `camera/microphone: ${(e as Error).message}` });
      return undefined;
    }
  }

  #setConference(state: ConferenceState, serverNow: number): void {
    this.#conference = state;
    this.#clockOffset = serverNow - Date.now();
    this.emit('conference', state);
  }

  #setState(state: ConnectionState, detail: { code?: string; reason?: CloseReason } = {}): void {
    if (this.#state === state && !detail.code) return;
    this.#state = state;
    this.emit('state', state, detail);
  }

  async #request<E extends keyof ClientToServerEvents>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<Parameters<Parameters<ClientToServerEvents[E]>[1]>[0] extends Ack<infer T> ? T : never> {
    const socket = this.#socket;
    if (!socket) throw new Error('not started');
    // The typed overloads do not follow a generic event name; the payload was typed above.
    const timed = socket.timeout(REQUEST_TIMEOUT_MS) as unknown as {
      emitWithAck(e: string, p: unknown): Promise<Ack<unknown>>;
    };
    const res = await timed.emitWithAck(event, payload);
    if (!res.ok) throw new RequestError(res.error);
    return res.data as never;
  }

  async #join(): Promise<void> {
    this.#closeReason = undefined;
    this.#setState('joining');
    try {
      const info = await this.#request('session:join', {});
      mark('joined');
      this.#setConference(info.state, info.serverNow);
      const device = await this.#deviceFor(info.routerRtpCapabilities);
      this.#device = device;
      mark('device-loaded');
      this.#recvTransport = this.#setupTransport(
        'recv',
        device.createRecvTransport(info.recvTransport as unknown as ms.TransportOptions),
      );
      await this.#request('session:ready', {
        rtpCapabilities: device.rtpCapabilities as unknown as Record<string, unknown>,
      });
      mark('ready');
      this.#setState('connected');
      this.emit('joined', info);
      // The camera opens once receiving is set up (with publishAfter, once that settles): it is
      // not on the way to the first picture.
      if (this.#opts.autoPublish !== false && !this.#localStream) {
        if (this.#opts.publishAfter) {
          await Promise.race([this.#opts.publishAfter, new Promise((r) => setTimeout(r, PUBLISH_WAIT_MS))]);
          if (this.#state === 'closed' || this.#state === 'refused') return;
        }
        this.#localStream ??= this.#capture();
      }
      await this.#publish();
    } catch (e) {
      const error = e instanceof RequestError ? e.error : { code: 'INTERNAL' as const, message: String(e) };
      if (isTerminalCode(error.code)) {
        // The credential expired or was revoked while connecting: rejoining cannot help.
        this.#setState('refused', { code: error.code });
        this.#socket?.disconnect();
        return;
      }
      this.emit('error', error);
      // A join that failed half-way is retried from scratch by reconnecting.
      this.#socket?.disconnect();
      this.#reconnectLater(2000);
    }
  }

  /**
   * The one pending reconnection (a later call replaces an earlier one): never two CONNECTs at
   * once, never after stop() or a terminal refusal, never while socket.io is already at it.
   */
  #reconnectLater(ms: number): void {
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      const socket = this.#socket;
      if (!socket || socket.active || this.#state === 'closed' || this.#state === 'refused') return;
      socket.connect();
    }, ms);
  }

  async #fetchRouterCaps(): Promise<ms.RtpCapabilities | undefined> {
    try {
      const res = await fetch(new URL('/api/rtp-capabilities', this.#opts.url ?? window.location.origin));
      return (await res.json()) as ms.RtpCapabilities;
    } catch {
      return undefined; // joining loads the device itself
    }
  }

  async #preloadDevice(): Promise<{ device: Device; capsKey: string } | undefined> {
    try {
      const caps = await this.#routerCaps;
      if (!caps) return undefined;
      const device = await newDevice();
      await device.load({ routerRtpCapabilities: caps });
      return { device, capsKey: JSON.stringify(caps) };
    } catch {
      return undefined; // joining loads the device itself
    }
  }

  /** The preloaded device when it matches the router we joined, else a freshly loaded one. */
  async #deviceFor(caps: Record<string, unknown>): Promise<Device> {
    const pre = await this.#preloaded;
    const key = JSON.stringify(caps);
    if (pre && pre.capsKey === key) return pre.device;
    const device = await newDevice();
    await device.load({ routerRtpCapabilities: caps as unknown as ms.RtpCapabilities });
    this.#preloaded = Promise.resolve({ device, capsKey: key });
    return device;
  }

  async #createSendTransport(): Promise<ms.Transport> {
    const opts: TransportOptions = await this.#request('transport:create', { direction: 'send' });
    const device = this.#device as Device;
    return this.#setupTransport('send', device.createSendTransport(opts as unknown as ms.TransportOptions));
  }

  #setupTransport(direction: 'send' | 'recv', transport: ms.Transport): ms.Transport {
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.#request('transport:connect', {
        transportId: transport.id,
        dtlsParameters: dtlsParameters as unknown as Record<string, unknown>,
      }).then(() => callback(), errback);
    });
    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
        this.#request('producer:create', {
          transportId: transport.id,
          kind,
          source: appData.source as MediaSource,
          rtpParameters: rtpParameters as unknown as Record<string, unknown>,
        }).then(({ id }) => callback({ id }), errback);
      });
    }
    transport.on('connectionstatechange', (state) => {
      if (state === 'failed') this.#socket?.disconnect().connect();
    });
    return transport;
  }

  async #publish(): Promise<void> {
    if (this.#publishStarted || !this.#localStream || !this.#device) return;
    this.#publishStarted = true;
    const stream = await this.#localStream;
    if (!stream) return;
    this.#sendTransport = await this.#createSendTransport();
    const video = stream.getVideoTracks()[0];
    const audio = stream.getAudioTracks()[0];
    if (video) {
      const vp8 = this.#device.rtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
      const producer = await this.#sendTransport.produce({
        track: video,
        encodings: QUALITY[this.#opts.quality ?? 'normal'].encodings,
        codecOptions: { videoGoogleStartBitrate: 1000 },
        ...(vp8 ? { codec: vp8 } : {}),
        stopTracks: false,
        appData: { source: 'camera' },
      });
      this.#producers.set('camera', producer);
    }
    if (audio) {
      const producer = await this.#sendTransport.produce({
        track: audio,
        // No DTX: a hall's microphone is gated on the server, and a grant must be heard at once.
        codecOptions: { opusStereo: false, opusDtx: false, opusFec: true },
        stopTracks: false,
        appData: { source: 'microphone' },
      });
      this.#producers.set('microphone', producer);
    }
  }

  /**
   * Dynacast: encode only the camera layers someone watches (the server says which). Calls are
   * chained, so the last word wins; a failure leaves every layer on, which costs only uplink.
   */
  #setCameraLayers(producerId: string, spatialLayer: number): void {
    const producer = this.#producers.get('camera');
    if (!producer || producer.id !== producerId || !Number.isInteger(spatialLayer) || spatialLayer < 0)
      return;
    this.#layersQueue = this.#layersQueue
      .then(() => (producer.closed ? undefined : producer.setMaxSpatialLayer(spatialLayer)))
      .catch(() => undefined);
  }

  async #onConsumerOffer(offer: ConsumerOffer, ack: AckFn<null>): Promise<void> {
    const transport = this.#recvTransport;
    if (!transport) {
      ack({ ok: false, error: { code: 'NOT_JOINED', message: 'no receive transport' } });
      return;
    }
    try {
      const consumer = await transport.consume({
        id: offer.id,
        producerId: offer.producerId,
        kind: offer.kind,
        rtpParameters: offer.rtpParameters as unknown as ms.RtpParameters,
      });
      this.#consumers.set(consumer.id, { consumer, offer });
      ack({ ok: true, data: null });
      mark(`consumer-${offer.kind}`);
      this.emit('track:added', { consumerId: consumer.id, offer, track: consumer.track });
    } catch (e) {
      ack({ ok: false, error: { code: 'MEDIA_ERROR', message: String(e) } });
    }
  }

  #removeConsumer(id: string): void {
    const entry = this.#consumers.get(id);
    if (!entry) return;
    entry.consumer.close();
    this.#consumers.delete(id);
    this.emit('track:removed', id);
  }

  #dropMedia(): void {
    this.#publishStarted = false;
    for (const id of [...this.#consumers.keys()]) this.#removeConsumer(id);
    this.#producers.clear();
    this.#sendTransport?.close();
    this.#recvTransport?.close();
    this.#sendTransport = undefined;
    this.#recvTransport = undefined;
    this.#device = undefined;
  }
}
