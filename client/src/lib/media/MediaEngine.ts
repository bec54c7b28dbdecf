/**
 * The media of one console: the one module that owns mediasoup-client. The device (preloaded
 * while joining), the send and receive transports wired to the signal client's requests,
 * capture and publishing, dynacast, the server's consumer offers, and the stats the tests and
 * benchmarks read. It follows the session: everything it holds goes when the socket drops.
 */
import type { Device, types as ms } from 'mediasoup-client';
import {
  type AckFn,
  type ConsumerOffer,
  ErrorCode,
  type JoinResult,
  type MediaSource,
  type RtpCapabilities,
  type WireError,
} from '../../../../protocol/events';
import { Emitter } from '../Emitter';
import { mark } from '../mark';
import { RequestError, type SignalClient } from '../signal/SignalClient';
import { QUALITY, type Quality, SCREEN, videoConstraints } from './quality';

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

export interface MediaEvents {
  'track:added': [track: RemoteTrack];
  'track:removed': [consumerId: string];
  'local:stream': [stream: MediaStream];
  /** Capture failed (no camera, refused): the console carries on without publishing. */
  error: [error: WireError];
  /** A transport failed for good: only a new session (reconnecting) heals it. */
  failed: [];
  /** This console's screen share started, or stopped (and why). */
  screen: [sharing: boolean, reason?: ScreenStopReason];
}

/**
 * Why a screen share stopped: its user stopped it (in the page or the browser's own bar), the
 * server closed it because the presentation token moved, or the connection dropped.
 */
export type ScreenStopReason = 'stopped' | 'presentation-moved' | 'connection' | 'failed';

export interface MediaOptions {
  /** Server address, for the router's capabilities; defaults to the page's origin. */
  url?: string;
  /** What to capture. */
  publish: { camera: boolean; microphone: boolean };
  quality?: Quality;
}

/**
 * mediasoup-client is two thirds of a console's script: it is set up when the first device is
 * made (once the socket has connected), not while the page loads, so the socket opens sooner.
 */
async function newDevice(): Promise<Device> {
  const { Device } = await import('mediasoup-client');
  return new Device();
}

/** How long a transport may stay disconnected before an ICE restart is asked for. */
const ICE_RESTART_AFTER_MS = 4000;
/** ICE restarts tried before the session starts again. */
const MAX_ICE_RESTARTS = 2;

export class MediaEngine extends Emitter<MediaEvents> {
  readonly #signal: SignalClient;
  readonly #opts: MediaOptions;
  #device?: Device;
  /** The session's send transport, made once when the first thing is published. */
  #sendTransport?: Promise<ms.Transport>;
  #screenTrack?: MediaStreamTrack;
  #recvTransport?: ms.Transport;
  readonly #consumers = new Map<string, { consumer: ms.Consumer; offer: ConsumerOffer }>();
  readonly #producers = new Map<MediaSource, ms.Producer>();
  #layersQueue: Promise<void> = Promise.resolve();
  #localStream?: Promise<MediaStream | undefined>;
  /** Set when publishing began for the current session (reset when the session's media drops). */
  #publishStarted = false;
  #routerCaps?: Promise<ms.RtpCapabilities | undefined>;
  #preloaded?: Promise<{ device: Device; capsKey: string } | undefined>;

  constructor(signal: SignalClient, opts: MediaOptions) {
    super();
    this.#signal = signal;
    this.#opts = opts;
    signal.on('consumer:added', (offer, ack) => void this.#onConsumerOffer(offer, ack));
    signal.on('consumer:closed', ({ id }) => this.#removeConsumer(id));
    signal.on('producer:layers', ({ producerId, spatialLayer }) =>
      this.#setCameraLayers(producerId, spatialLayer),
    );
    signal.on('producer:closed', ({ producerId, source, reason }) => {
      if (source === 'screen' && this.#producers.get('screen')?.id === producerId)
        this.#endScreen(reason, false);
    });
    signal.on('down', () => this.drop());
  }

  /** Whether there is (or will be) something to publish: captured, or handed in by the page. */
  get hasLocalStream(): boolean {
    return this.#localStream !== undefined;
  }

  /** Fetches the router's capabilities over HTTP while the socket connects, for `preload()`. */
  prefetch(): void {
    this.#routerCaps = this.#fetchRouterCaps();
  }

  /**
   * Sets up mediasoup-client and loads the device (40–100 ms, much of it on this thread). Called
   * with the join request out, while its answer comes: during the handshake it delayed that instead.
   */
  preload(): void {
    this.#preloaded ??= this.#preloadDevice();
  }

  /** Loads the device for the joined router and sets up receiving; returns what this browser can receive. */
  async receive(info: JoinResult): Promise<RtpCapabilities> {
    const device = await this.#deviceFor(info.routerRtpCapabilities);
    this.#device = device;
    mark('device-loaded');
    this.#recvTransport = this.#setupTransport(
      'recv',
      device.createRecvTransport(info.recvTransport as unknown as ms.TransportOptions),
    );
    return device.rtpCapabilities as unknown as RtpCapabilities;
  }

  /** Opens the camera and microphone the options ask for, once per console. */
  capture(): void {
    this.#localStream ??= this.#capture();
  }

  /** Publishes this stream (from the device check) instead of capturing one. */
  useStream(stream: MediaStream): void {
    this.#localStream = Promise.resolve(stream);
    this.emit('local:stream', stream);
  }

  /** Stops the local capture (the console is leaving). */
  stopCapture(): void {
    void this.#localStream?.then((s) => s?.getTracks().forEach((t) => t.stop()));
  }

  /** Publishes the local stream, once per session, when there is one and the device is loaded. */
  async publish(): Promise<void> {
    if (this.#publishStarted || !this.#localStream || !this.#device) return;
    this.#publishStarted = true;
    const stream = await this.#localStream;
    if (!stream) return;
    const transport = await this.#sendTransportReady();
    const video = stream.getVideoTracks()[0];
    const audio = stream.getAudioTracks()[0];
    if (video) {
      const vp8 = this.#device.rtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
      const producer = await transport.produce({
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
      const producer = await transport.produce({
        track: audio,
        // No DTX: a hall's microphone is gated on the server, and a grant must be heard at once.
        codecOptions: { opusStereo: false, opusDtx: false, opusFec: true },
        stopTracks: false,
        appData: { source: 'microphone' },
      });
      this.#producers.set('microphone', producer);
    }
  }

  /** Whether this console is sharing its screen now (the server has its producer). */
  get sharingScreen(): boolean {
    return this.#producers.has('screen');
  }

  /**
   * Presents a screen (a `getDisplayMedia` track) as this console's 'screen' source. The server
   * refuses it unless this console holds the presentation token (FORBIDDEN), and closes it when
   * the token moves ('producer:closed'). The track is stopped whenever the share ends.
   */
  async shareScreen(track: MediaStreamTrack): Promise<void> {
    if (!this.#device) {
      track.stop();
      throw new RequestError({ code: ErrorCode.NotJoined, message: 'not connected' });
    }
    if (this.#screenTrack) this.#endScreen('stopped', true);
    this.#screenTrack = track;
    // Legibility over motion: the encoder keeps the resolution and drops frames instead.
    track.contentHint = 'detail';
    track.addEventListener('ended', () => {
      if (this.#screenTrack === track) this.#endScreen('stopped', true);
    });
    try {
      const transport = await this.#sendTransportReady();
      const vp8 = this.#device.rtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
      const producer = await transport.produce({
        track,
        encodings: SCREEN.encodings,
        codecOptions: { videoGoogleStartBitrate: 1000 },
        ...(vp8 ? { codec: vp8 } : {}),
        stopTracks: false,
        appData: { source: 'screen' },
      });
      if (this.#screenTrack !== track) {
        producer.close(); // stopped while the server was making it
        return;
      }
      this.#producers.set('screen', producer);
      const sender = producer.rtpSender;
      if (sender) {
        const params = sender.getParameters();
        params.degradationPreference = 'maintain-resolution';
        await sender.setParameters(params).catch(() => undefined);
      }
      this.emit('screen', true);
    } catch (e) {
      if (this.#screenTrack === track) this.#endScreen('failed', false);
      throw e;
    }
  }

  /** Stops this console's screen share (its user's choice). */
  stopScreen(): void {
    if (this.#screenTrack) this.#endScreen('stopped', true);
  }

  /** Ends the share: the capture, the local producer, and (when asked) the server's producer. */
  #endScreen(reason: ScreenStopReason, tellServer: boolean): void {
    const producer = this.#producers.get('screen');
    this.#producers.delete('screen');
    this.#screenTrack?.stop();
    this.#screenTrack = undefined;
    if (producer) {
      producer.close();
      if (tellServer)
        void this.#signal.request('producer:close', { producerId: producer.id }).catch(() => undefined);
    }
    this.emit('screen', false, reason);
  }

  /** Drops the session's media: consumers, producers, transports, the device (the capture stays). */
  drop(): void {
    this.#publishStarted = false;
    if (this.#screenTrack) this.#endScreen('connection', false);
    for (const id of [...this.#consumers.keys()]) this.#removeConsumer(id);
    this.#producers.clear();
    void this.#sendTransport?.then((t) => t.close()).catch(() => undefined);
    this.#recvTransport?.close();
    this.#sendTransport = undefined;
    this.#recvTransport = undefined;
    this.#device = undefined;
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
      this.emit('error', {
        code: ErrorCode.MediaError,
        message: `camera/microphone: ${(e as Error).message}`,
      });
      return undefined;
    }
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
  async #deviceFor(caps: RtpCapabilities): Promise<Device> {
    const pre = await this.#preloaded;
    const key = JSON.stringify(caps);
    if (pre && pre.capsKey === key) return pre.device;
    const device = await newDevice();
    await device.load({ routerRtpCapabilities: caps as unknown as ms.RtpCapabilities });
    this.#preloaded = Promise.resolve({ device, capsKey: key });
    return device;
  }

  #sendTransportReady(): Promise<ms.Transport> {
    this.#sendTransport ??= this.#createSendTransport();
    // A failed attempt is not kept: the next publish tries again.
    this.#sendTransport.catch(() => (this.#sendTransport = undefined));
    return this.#sendTransport;
  }

  async #createSendTransport(): Promise<ms.Transport> {
    const opts = await this.#signal.request('transport:create', { direction: 'send' });
    const device = this.#device as Device;
    return this.#setupTransport('send', device.createSendTransport(opts as unknown as ms.TransportOptions));
  }

  #setupTransport(direction: 'send' | 'recv', transport: ms.Transport): ms.Transport {
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.#signal
        .request('transport:connect', {
          transportId: transport.id,
          dtlsParameters: dtlsParameters as unknown as Record<string, unknown>,
        })
        .then(() => callback(), errback);
    });
    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
        this.#signal
          .request('producer:create', {
            transportId: transport.id,
            kind,
            source: appData.source as MediaSource,
            rtpParameters: rtpParameters as unknown as Record<string, unknown>,
          })
          .then(({ id }) => callback({ id }), errback);
      });
    }
    this.#watchConnection(transport);
    return transport;
  }

  /**
   * A transport whose connection drops recovers in steps: it often comes back by itself (the
   * link returns; ICE checks resume); if it stays disconnected for ICE_RESTART_AFTER_MS, or
   * fails, the server is asked for fresh ICE credentials (an ICE restart, the session and
   * everything else unchanged); only if that does not bring it back is the session started
   * again ('failed': a fresh session with the same credential, keeping its place).
   */
  #watchConnection(transport: ms.Transport): void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let restarts = 0;
    const restart = async () => {
      timer = undefined;
      if (transport.closed || transport.connectionState === 'connected') return;
      if (restarts >= MAX_ICE_RESTARTS) return void this.emit('failed');
      restarts += 1;
      try {
        const { iceParameters } = await this.#signal.request('transport:restart', {
          transportId: transport.id,
        });
        if (transport.closed) return;
        await transport.restartIce({ iceParameters: iceParameters as unknown as ms.IceParameters });
        // Not connected again within the wait: one more restart, then a fresh session.
        timer = setTimeout(() => void restart(), ICE_RESTART_AFTER_MS * 2);
      } catch {
        if (!transport.closed) this.emit('failed');
      }
    };
    transport.on('connectionstatechange', (state) => {
      clearTimeout(timer);
      timer = undefined;
      if (state === 'connected') restarts = 0;
      else if (state === 'failed') void restart();
      else if (state === 'disconnected') timer = setTimeout(() => void restart(), ICE_RESTART_AFTER_MS);
      else if (state === 'closed') restarts = MAX_ICE_RESTARTS;
    });
  }

  /**
   * The figures this console's browser measures, for the control room (`stats:report`): totals
   * since the transports were made (the caller takes differences) and the latest levels.
   */
  async healthFigures(): Promise<{
    bytesSent: number;
    bytesReceived: number;
    framesDecoded: number;
    /** The best frame rate among what it receives (its programme). */
    fps: number;
    freezes: number;
    audioLevel: number;
    rttMs: number | null;
  }> {
    const out = {
      bytesSent: 0,
      bytesReceived: 0,
      framesDecoded: 0,
      fps: 0,
      freezes: 0,
      audioLevel: 0,
      rttMs: null as number | null,
    };
    const send = this.#sendTransport ? await this.#sendTransport.catch(() => undefined) : undefined;
    for (const t of [send, this.#recvTransport]) {
      if (!t || t.closed) continue;
      (await t.getStats().catch(() => new Map())).forEach((r: Record<string, unknown>) => {
        if (r.type === 'transport') {
          out.bytesSent += Number(r.bytesSent ?? 0);
          out.bytesReceived += Number(r.bytesReceived ?? 0);
        } else if (r.type === 'candidate-pair' && r.nominated && typeof r.currentRoundTripTime === 'number') {
          out.rttMs = Math.max(out.rttMs ?? 0, r.currentRoundTripTime * 1000);
        } else if (r.type === 'inbound-rtp' && r.kind === 'video') {
          out.framesDecoded += Number(r.framesDecoded ?? 0);
          out.fps = Math.max(out.fps, Number(r.framesPerSecond ?? 0));
          out.freezes += Number(r.freezeCount ?? 0);
        } else if (r.type === 'media-source' && r.kind === 'audio') {
          out.audioLevel = Math.max(out.audioLevel, Number(r.audioLevel ?? 0));
        }
      });
    }
    return out;
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
      ack({ ok: false, error: { code: ErrorCode.NotJoined, message: 'no receive transport' } });
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
      ack({ ok: false, error: { code: ErrorCode.MediaError, message: String(e) } });
    }
  }

  #removeConsumer(id: string): void {
    const entry = this.#consumers.get(id);
    if (!entry) return;
    entry.consumer.close();
    this.#consumers.delete(id);
    this.emit('track:removed', id);
  }
}
