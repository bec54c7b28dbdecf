/**
 * The media side of one conference: its Router, and per connected peer the transports,
 * producers and consumers. It obeys the programme policy (`core/programme.ts`) on every
 * change of the conference state (`reconcile`):
 *
 * - a microphone that may not be heard has its producer paused on the server, so nothing
 *   it sends is forwarded, whatever its client does;
 * - consumers are made by the server, ahead of need (a grant then only resumes a producer);
 * - video a site should not see right now has its consumer paused on the server.
 *
 * Media runs on every worker: the conference has one router per worker, each peer lives on one
 * of them (its transports, producers and consumers), and a producer reaches the routers where its
 * consumers live through `pipeToRouter` (worker to worker over loopback UDP; Node stays off the
 * media path). The central consoles (chair, co-chair, operators, wall), which consume every
 * camera, share one router, the hub, so each site's camera is piped at most once for them; sites
 * are spread over the workers by weight. A worker's death takes only the peers it carried.
 */
import type { types } from 'mediasoup';
import type { ConsumerOffer, MediaKind, MediaSource, SiteInfo } from '../../../protocol/events';
import {
  type Party,
  isCentral,
  mayPublish,
  micLive,
  preferredLayer,
  shouldFlow,
  shouldPrepare,
  wantedLayer,
} from '../core/programme';
import type { ConferenceState } from '../core/model';
import { createLogger } from '../logger';
import type { PoolEntry, WorkerPool } from './WorkerPool';

const log = createLogger('media:conference');

export const MEDIA_CODECS: types.RtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, parameters: { 'x-google-start-bitrate': 600 } },
  // H264 for hardware room systems (constrained baseline and high profile).
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '640032', 'level-asymmetry-allowed': 1 },
  },
];

/** A problem the client caused (bad parameters, unknown id, no right): mapped to a wire code at the edge. */
export class MediaRequestError extends Error {
  override name = 'MediaRequestError';
  constructor(
    readonly kind: 'bad-request' | 'not-found' | 'forbidden' | 'unavailable',
    message: string,
  ) {
    super(message);
  }
}

/** Sends a consumer offer to the peer's client and resolves when the client has created it. */
export type OfferSender = (offer: ConsumerOffer) => Promise<void>;

export interface PeerInfo {
  id: string;
  /** A hall's RTP ingest (its AV system, openIngest): it has no session and never receives. */
  ingest?: boolean;
  party: Party;
  site: SiteInfo;
  sendOffer: OfferSender;
  onConsumerClosed: (id: string) => void;
  /** Its media could not be started again (see onMediaRestart): the session must end. */
  onMediaLost: () => void;
  /**
   * The worker carrying this peer's media died, or a transport failed: the peer was placed
   * again and given this new receive transport; its client starts its media again on it,
   * in the same session.
   */
  onMediaRestart?: (recv: types.WebRtcTransport) => void;
  /**
   * The highest spatial layer anyone wants of this peer's camera changed: the client may stop
   * (or must start again) encoding the layers above. Advice only: nothing breaks if it does not.
   */
  onProducerLayers?: (producerId: string, spatialLayer: number) => void;
  /**
   * The server closed one of this peer's producers (its presentation, when the token moved to
   * someone else): the client stops that capture and says why.
   */
  onProducerClosed?: (producerId: string, source: MediaSource, reason: 'presentation-moved') => void;
}

/** What the SFU measures of one site's media (ConferenceMedia.siteStats). */
export interface RawSiteStats {
  /** Bytes received from and sent to the site, all its transports, since they were made. */
  bytesIn: number;
  bytesOut: number;
  /** Bits per second, site → server and server → site. */
  upBps: number;
  downBps: number;
  /** Loss %, of what reaches us (upstream) and of what it reports receiving (downstream). */
  upLossPct: number | null;
  downLossPct: number | null;
  jitterMs: number | null;
  rttMs: number | null;
  /** Lowest producer score, 0–10. */
  score: number | null;
  /** Counters since the producers were made. */
  nacks: number;
  plis: number;
  transports: number;
  producers: number;
}

interface RouterSlot {
  entry: PoolEntry;
  router: types.Router;
}

interface PeerMedia extends PeerInfo {
  /** The worker (pool index) whose router carries this peer's media. */
  worker: number;
  transports: Map<string, types.WebRtcTransport>;
  /** An RTP ingest's transports (one per stream). */
  plain: Map<string, types.PlainTransport>;
  producers: Map<string, types.Producer>;
  /** Consumers by producer id. */
  consumers: Map<string, types.Consumer>;
  /** Producer ids with a consumer being made. */
  pending: Set<string>;
  /** Sources whose producer is being made: counted against the limits before the worker answers. */
  reserved: Set<MediaSource>;
  /** Transports being made, by direction: a second request for the same one waits for it. */
  creating: Map<'send' | 'recv', Promise<types.WebRtcTransport>>;
  /** Retry passes after refused or unanswered consumer offers, and the pass that will offer them again. */
  offerFailures: number;
  offerRetry?: NodeJS.Timeout;
  /** Producers whose offer this peer refused: not offered again before this time (epoch ms). */
  refusedUntil: Map<string, number>;
  rtpCapabilities?: types.RtpCapabilities;
}

const MAX_TRANSPORTS_PER_PEER = 2;
/** How long a peer whose worker died waits for a live worker before its session is ended. */
const RESTART_WAIT_MS = 8000;
/** How long a camera's score must stay below 5 of 10 before the site shows "poor connection". */
const POOR_AFTER_MS = 4000;
const MAX_PRODUCERS_PER_PEER = 4;
/** Spatial layer asked of mediasoup for each wish; mediasoup uses the highest one that exists. */
const SPATIAL = { low: 0, mid: 1, high: 2 } as const;
/**
 * How many sites' worth of forwarding one central console puts on the hub when placing sites:
 * each consumes the low layer of every camera, and the hub takes in the cameras piped from the
 * other workers. Measured with `npm run bench -- load` (per-worker CPU at 63 sites).
 */
const CENTRAL_WEIGHT = 4;
/** How long a camera's layers must be unwanted before its publisher is told to stop them (no flapping as the floor moves). */
const LOWER_LAYERS_AFTER_MS = 5000;

/** The media peer id of a hall's RTP ingest. */
export const ingestId = (siteCode: string) => `ingest:${siteCode}`;

/** Where RTP from outside (a hall's encoder) arrives, and the address it is told to send to. */
export interface PlainListen {
  ip: string;
  announcedIp?: string;
  /** Ports for ingest transports (each takes two: RTP and RTCP); picked in this range. */
  portMin: number;
  portMax: number;
}

/** One stream of an RTP ingest: where to send it and how (payload type, SSRC, codec). */
export interface IngestStream {
  ip: string;
  port: number;
  rtcpPort: number;
  payloadType: number;
  ssrc: number;
  mimeType: string;
  clockRate: number;
  channels?: number;
  parameters: Record<string, string | number>;
}

export type IngestVideoCodec = 'H264' | 'VP8';

export interface IngestInfo {
  siteCode: string;
  videoCodec: IngestVideoCodec;
  audio: IngestStream;
  video: IngestStream;
  /** SRTP: what the encoder encrypts with (both streams); null for plain RTP. */
  srtp: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80'; keyBase64: string } | null;
  openedAt: number;
}

/** A stream tapped out of the conference to a local receiver (a recorder): what it carries. */
export interface TapStream {
  producerId: string;
  kind: MediaKind;
  /** Where it is sent on 127.0.0.1 (RTP; RTCP muxed on the same port). */
  port: number;
  payloadType: number;
  mimeType: string;
  clockRate: number;
  channels?: number;
  parameters: Record<string, unknown>;
}

/** Local RTP copies of some producers (no transcoding): see ConferenceMedia.openTap. */
export interface Tap {
  readonly streams: TapStream[];
  /** Starts forwarding (asks the video for a key frame): call once the receiver listens. */
  start(): Promise<void>;
  /** Asks every video for a key frame again. */
  keyFrame(): void;
  /** Bytes sent so far per stream. */
  stats(): Promise<{ producerId: string; bytes: number; packets: number }[]>;
  close(): void;
  readonly closed: boolean;
}

const INGEST_PT = { audio: 111, H264: 102, VP8: 96 } as const;
const INGEST_FEEDBACK = [
  { type: 'nack' },
  { type: 'nack', parameter: 'pli' },
  { type: 'ccm', parameter: 'fir' },
];

export class ConferenceMedia {
  /** One router per live worker, by worker index. */
  readonly #routers = new Map<number, RouterSlot>();
  /** The worker of the central consoles. */
  #hub: number | undefined;
  /** Producers piped to other routers: `producerId>worker` → done. */
  readonly #pipes = new Map<string, Promise<void>>();
  readonly #peers = new Map<string, PeerMedia>();
  /** Peers being placed again after their worker died (#restartPeer). */
  readonly #restarting = new Set<string>();
  #state: ConferenceState;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  #retryDelay = 0;
  /** Told when a site's media status (camera, microphone, connection quality) may have changed. */
  onSiteMedia: (siteCode: string) => void = () => undefined;

  readonly #plainListen: PlainListen;
  /** Ports given to ingest transports (RTP and RTCP). */
  readonly #plainPorts = new Set<number>();
  /** Open ingests, by site code. */
  readonly #ingests = new Map<string, IngestInfo>();

  private constructor(state: ConferenceState, plain: PlainListen) {
    this.#state = state;
    this.#plainListen = plain;
  }

  static async create(
    pool: WorkerPool,
    state: ConferenceState,
    plain: PlainListen = { ip: '127.0.0.1', portMin: 0, portMax: 0 },
  ): Promise<ConferenceMedia> {
    const media = new ConferenceMedia(state, plain);
    await Promise.all(pool.entries().map((e) => media.addWorker(e)));
    if (media.#routers.size === 0) throw new Error('no live mediasoup worker');
    return media;
  }

  /** The same on every router (same codecs, same payload types). */
  get rtpCapabilities(): types.RtpCapabilities {
    const slot = this.#routers.values().next().value as RouterSlot | undefined;
    if (!slot)
      throw new MediaRequestError('unavailable', 'no media worker is running; try again in a moment');
    return slot.router.rtpCapabilities;
  }

  /** A worker (new, or replacing a dead one) takes its share of the peers that join from now. */
  async addWorker(entry: PoolEntry): Promise<void> {
    const router = await entry.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    if (this.#closed || entry.worker.closed) {
      router.close();
      return;
    }
    this.#routers.set(entry.index, { entry, router });
  }

  /**
   * A worker died: its router and everything on it are gone (mediasoup closes the pipes into the
   * other routers, so consumers of its producers elsewhere close too). Only its peers are told
   * to start again; everyone else keeps their media.
   */
  workerDied(index: number): void {
    const slot = this.#routers.get(index);
    this.#routers.delete(index);
    if (this.#hub === index) this.#hub = undefined;
    if (slot && !slot.router.closed) slot.router.close();
    const lost = [...this.#peers.values()].filter((p) => p.worker === index);
    log.warn('media worker lost; its peers start their media again', { worker: index, peers: lost.length });
    for (const peer of lost) void this.#restartPeer(peer);
  }

  /** Sessions whose media was started again (worker death, failed or silent transport), for monitoring. */
  mediaRestarts = 0;

  /** Starts a site's media again (its hall's sessions), in the same session: see #restartPeer. */
  restartSite(siteCode: string, why: string): void {
    for (const peer of [...this.#peers.values()]) {
      if (peer.party.siteCode !== siteCode || peer.party.role !== 'site' || peer.ingest) continue;
      log.warn('starting a site’s media again', { principal: peer.party.principal, why });
      void this.#restartPeer(peer);
    }
  }

  /**
   * Places a peer again (on a live worker) with a new receive transport, and tells its session
   * to start its media again on it: the session and the conference do not notice. If that
   * cannot be done, the session is ended (its client joins again, keeping its place).
   */
  async #restartPeer(peer: PeerMedia): Promise<void> {
    const info: PeerInfo = {
      id: peer.id,
      party: peer.party,
      site: peer.site,
      sendOffer: peer.sendOffer,
      onConsumerClosed: peer.onConsumerClosed,
      onMediaLost: peer.onMediaLost,
      ...(peer.onMediaRestart ? { onMediaRestart: peer.onMediaRestart } : {}),
      ...(peer.onProducerLayers ? { onProducerLayers: peer.onProducerLayers } : {}),
      ...(peer.onProducerClosed ? { onProducerClosed: peer.onProducerClosed } : {}),
    };
    this.removePeer(peer.id);
    this.mediaRestarts += 1;
    // A session that leaves meanwhile (removePeer) cancels its restart.
    this.#restarting.add(info.id);
    try {
      if (!info.onMediaRestart || this.#closed) throw new Error('no media restart for this peer');
      // With a single worker, wait for its replacement (the pool starts one at once).
      const deadline = Date.now() + RESTART_WAIT_MS;
      while (this.#routers.size === 0 && !this.#closed && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      if (this.#closed) throw new Error('the media is closing');
      if (!this.#restarting.has(info.id)) return;
      this.addPeer(info);
      const recv = await this.createTransport(info.id, 'recv');
      if (!this.#restarting.has(info.id)) return this.removePeer(info.id);
      info.onMediaRestart(recv);
    } catch (e) {
      if (!this.#restarting.has(info.id)) return;
      log.info('starting the media again failed; the session ends', { peer: info.id, error: e });
      this.removePeer(info.id);
      try {
        info.onMediaLost();
      } catch (err) {
        log.error('telling a peer its media was lost failed', { peer: info.id, error: err });
      }
    } finally {
      this.#restarting.delete(info.id);
    }
  }

  #transportFailed(peer: PeerMedia, transport: types.WebRtcTransport, why: string): void {
    if (this.#peers.get(peer.id) !== peer || transport.closed) return;
    log.warn('transport failed; the session starts its media again', {
      principal: peer.party.principal,
      why,
    });
    void this.#restartPeer(peer);
  }

  /** Routers in use: one per live worker once a replaced worker has been taken up. */
  get workers(): number {
    return this.#routers.size;
  }

  /** Which worker carries each peer, and how many peers each router has (for monitoring and tests). */
  placement(): { workers: Record<number, number>; hub: number | null; byPrincipal: Record<string, number> } {
    const workers: Record<number, number> = {};
    for (const i of this.#routers.keys()) workers[i] = 0;
    const byPrincipal: Record<string, number> = {};
    for (const p of this.#peers.values()) {
      workers[p.worker] = (workers[p.worker] ?? 0) + 1;
      byPrincipal[p.party.principal] = p.worker;
    }
    return { workers, hub: this.#hub ?? null, byPrincipal };
  }

  /** The worker for a new peer: the hub for central consoles, the least loaded for a site. */
  #place(party: Party): number {
    const live = [...this.#routers.keys()];
    if (live.length === 0)
      throw new MediaRequestError('unavailable', 'no media worker is running; try again in a moment');
    const load = new Map(live.map((i) => [i, 0]));
    for (const p of this.#peers.values())
      load.set(p.worker, (load.get(p.worker) ?? 0) + (isCentral(p.party) ? CENTRAL_WEIGHT : 1));
    const least = () => live.reduce((a, b) => ((load.get(b) ?? 0) < (load.get(a) ?? 0) ? b : a));
    if (isCentral(party)) {
      if (this.#hub === undefined || !this.#routers.has(this.#hub)) this.#hub = least();
      return this.#hub;
    }
    return least();
  }

  addPeer(info: PeerInfo): void {
    if (this.#peers.has(info.id)) throw new Error(`peer ${info.id} already in the conference media`);
    this.#peers.set(info.id, {
      ...info,
      worker: this.#place(info.party),
      transports: new Map(),
      producers: new Map(),
      consumers: new Map(),
      pending: new Set(),
      reserved: new Set(),
      creating: new Map(),
      plain: new Map(),
      offerFailures: 0,
      refusedUntil: new Map(),
    });
  }

  removePeer(id: string): void {
    this.#restarting.delete(id);
    const peer = this.#peers.get(id);
    if (!peer) return;
    this.#peers.delete(id);
    clearTimeout(peer.offerRetry);
    // Closing transports closes their producers and consumers (mediasoup cascades),
    // and the consumers of others on those producers ('producerclose').
    for (const t of peer.transports.values()) t.close();
    for (const t of peer.plain.values()) t.close();
  }

  async createTransport(peerId: string, direction: 'send' | 'recv'): Promise<types.WebRtcTransport> {
    const peer = this.#peer(peerId);
    const existing = [...peer.transports.values()].find((t) => t.appData.direction === direction);
    if (existing) return existing;
    // Requests racing for the same transport share one: the check above cannot see a transport
    // still being made.
    const making = peer.creating.get(direction);
    if (making) return making;
    if (peer.transports.size + peer.creating.size >= MAX_TRANSPORTS_PER_PEER) {
      throw new MediaRequestError('bad-request', 'too many transports');
    }
    const made = this.#makeTransport(peer, direction);
    peer.creating.set(direction, made);
    try {
      return await made;
    } finally {
      peer.creating.delete(direction);
    }
  }

  async #makeTransport(peer: PeerMedia, direction: 'send' | 'recv'): Promise<types.WebRtcTransport> {
    const peerId = peer.id;
    const slot = this.#routers.get(peer.worker);
    if (!slot) throw new MediaRequestError('not-found', 'the media worker of this session is gone');
    const transport = await slot.router.createWebRtcTransport({
      webRtcServer: slot.entry.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: 1_000_000,
      appData: { direction, peerId },
    });
    if (this.#peers.get(peerId) !== peer) {
      // The peer left while the transport was being made.
      transport.close();
      throw new MediaRequestError('not-found', 'peer has no media session');
    }
    peer.transports.set(transport.id, transport);
    // A failed DTLS handshake or ICE connection leaves the session without media: the server
    // notices it and has the session start its media again (its client comes back with the
    // same credential, keeping its place). A 'closed' DTLS state is an ordinary departure.
    transport.on('dtlsstatechange', (state) => {
      if (state === 'failed') this.#transportFailed(peer, transport, `DTLS ${state}`);
      else if (state === 'closed') log.debug('transport DTLS closed', { peerId });
    });
    transport.on('icestatechange', (state) => {
      if (state === 'disconnected') log.info('transport ICE disconnected', { peerId });
    });
    return transport;
  }

  async connectTransport(peerId: string, transportId: string, dtlsParameters: unknown): Promise<void> {
    const transport = this.#transport(peerId, transportId);
    await this.#asRequest(() =>
      transport.connect({ dtlsParameters: dtlsParameters as types.DtlsParameters }),
    );
  }

  async produce(
    peerId: string,
    transportId: string,
    kind: MediaKind,
    source: MediaSource,
    rtpParameters: unknown,
  ): Promise<types.Producer> {
    const peer = this.#peer(peerId);
    const transport = this.#transport(peerId, transportId);
    if (transport.appData.direction !== 'send')
      throw new MediaRequestError('bad-request', 'not a send transport');
    if ((source === 'microphone') !== (kind === 'audio')) {
      throw new MediaRequestError('bad-request', `source ${source} cannot be ${kind}`);
    }
    if (!mayPublish(this.#state, peer.party, source)) {
      throw new MediaRequestError(
        'forbidden',
        source === 'screen'
          ? 'only the presentation holder may present'
          : `a ${peer.party.role} does not publish`,
      );
    }
    if (source !== 'screen' && this.#peers.has(ingestId(peer.party.siteCode)))
      throw new MediaRequestError(
        'forbidden',
        'this hall publishes its camera and microphone through its RTP ingest (its AV system)',
      );
    // Checked and reserved in one synchronous step, before awaiting the worker: parallel
    // requests cannot all pass the check while none is counted yet.
    if (peer.reserved.has(source) || [...peer.producers.values()].some((p) => p.appData.source === source)) {
      throw new MediaRequestError('bad-request', `already producing ${source}`);
    }
    if (peer.producers.size + peer.reserved.size >= MAX_PRODUCERS_PER_PEER)
      throw new MediaRequestError('bad-request', 'too many producers');
    peer.reserved.add(source);
    let producer: types.Producer;
    try {
      // A microphone starts paused unless it may be heard now: no window in which it leaks.
      const paused = source === 'microphone' && !micLive(this.#state, peer.party);
      producer = await this.#asRequest(() =>
        transport.produce({
          kind,
          rtpParameters: rtpParameters as types.RtpParameters,
          paused,
          appData: { source, peerId, wantPaused: paused, poor: false },
        }),
      );
    } finally {
      peer.reserved.delete(source);
    }
    if (this.#peers.get(peerId) !== peer || producer.closed) {
      // The peer left while the worker was making it.
      producer.close();
      throw new MediaRequestError('not-found', 'peer has no media session');
    }
    if (source === 'microphone' && micLive(this.#state, peer.party) === producer.paused) {
      // The floor moved while the worker was making it: the policy decides, not the request.
      gate(producer, !micLive(this.#state, peer.party));
    }
    peer.producers.set(producer.id, producer);
    producer.observer.once('close', () => {
      peer.producers.delete(producer.id);
      this.onSiteMedia(peer.party.siteCode);
    });
    if (kind === 'video') {
      // "Poor" only after the score has stayed below 5 for a while: a stream ramping up, or one
      // bad second, is not worth an alarm on the chair's screen.
      let pending: NodeJS.Timeout | undefined;
      const setPoor = (poor: boolean) => {
        if (poor === producer.appData.poor) return;
        producer.appData.poor = poor;
        this.onSiteMedia(peer.party.siteCode);
      };
      producer.on('score', (scores) => {
        const low = scores.length > 0 && Math.max(...scores.map((x) => x.score)) < 5;
        if (!low) {
          clearTimeout(pending);
          pending = undefined;
          setPoor(false);
        } else if (!pending && !producer.appData.poor) {
          pending = setTimeout(() => {
            pending = undefined;
            if (!producer.closed) setPoor(true);
          }, POOR_AFTER_MS);
          pending.unref();
        }
      });
      producer.observer.once('close', () => clearTimeout(pending));
    }
    this.reconcile(this.#state);
    this.onSiteMedia(peer.party.siteCode);
    return producer;
  }

  closeProducer(peerId: string, producerId: string): void {
    const producer = this.#peer(peerId).producers.get(producerId);
    if (!producer) throw new MediaRequestError('not-found', `producer ${producerId} not found`);
    producer.close();
  }

  /** The peer can receive: consumers follow from the policy. */
  setReady(peerId: string, rtpCapabilities: unknown): void {
    const peer = this.#peer(peerId);
    const caps = rtpCapabilities as types.RtpCapabilities;
    if (!Array.isArray(caps.codecs))
      throw new MediaRequestError('bad-request', 'rtpCapabilities.codecs missing');
    peer.rtpCapabilities = caps;
    this.reconcile(this.#state);
  }

  /**
   * Brings media in line with the conference state: producer pauses (who is heard),
   * presentation rights, consumers to make, consumer pauses (what each site sees).
   * Synchronous decisions; the worker calls they trigger run in the background.
   */
  reconcile(state: ConferenceState): void {
    this.#state = state;
    try {
      this.enforce(state);
      this.#retryDelay = 0;
    } catch (e) {
      // A bug here must not stop the state from reaching everyone, nor the process: log it and
      // try again with whatever the state is by then, backing off to 5 s.
      this.#retryDelay = Math.min(5000, this.#retryDelay ? this.#retryDelay * 2 : 250);
      log.error('media reconcile failed; retrying', { inMs: this.#retryDelay, error: e });
      if (!this.#retry) {
        this.#retry = setTimeout(() => {
          this.#retry = undefined;
          if (!this.#closed) this.reconcile(this.#state);
        }, this.#retryDelay);
        this.#retry.unref();
      }
    }
  }

  /** One pass of the policy over every producer and consumer. Throws only on a bug; see reconcile(). */
  enforce(state: ConferenceState): void {
    const watching = [...this.#peers.values()].filter((p) => p.rtpCapabilities).map((p) => p.party);
    for (const sender of this.#peers.values()) {
      for (const producer of sender.producers.values()) {
        const source = producer.appData.source as MediaSource;
        if (source === 'microphone') gate(producer, !micLive(state, sender.party));
        if (source === 'camera' && producer.type === 'simulcast')
          this.#askLayers(sender, producer, SPATIAL[wantedLayer(state, watching, sender.party)]);
        if (source === 'screen' && !mayPublish(state, sender.party, 'screen')) {
          producer.close(); // the presentation moved to someone else
          sender.onProducerClosed?.(producer.id, source, 'presentation-moved');
          continue;
        }
        for (const receiver of this.#peers.values()) {
          if (!receiver.rtpCapabilities) continue;
          const consumer = receiver.consumers.get(producer.id);
          if (consumer) {
            if (consumer.appData.acked)
              gate(consumer, !shouldFlow(state, receiver.party, sender.party, source));
            if (consumer.type === 'simulcast')
              setLayer(consumer, preferredLayer(state, receiver.party, sender.party));
          } else if (
            !receiver.pending.has(producer.id) &&
            (receiver.refusedUntil.get(producer.id) ?? 0) <= Date.now() &&
            shouldPrepare(state, receiver.party, sender.party, source)
          ) {
            void this.#consume(receiver, sender, producer);
          }
        }
      }
    }
  }

  /**
   * Dynacast: tells a camera's publisher the highest layer anyone wants now. Up at once (the
   * speaker's top layer at the grant); down only once unwanted for LOWER_LAYERS_AFTER_MS.
   */
  #askLayers(sender: PeerMedia, producer: types.Producer, want: number): void {
    const data = producer.appData as { maxLayer?: number; lowerSince?: number; lowerCheck?: NodeJS.Timeout };
    const current = data.maxLayer ?? SPATIAL.high; // a publisher starts with every layer
    if (want >= current) {
      data.lowerSince = undefined;
      if (want === current) return;
    } else {
      const since = (data.lowerSince ??= Date.now());
      if (Date.now() - since < LOWER_LAYERS_AFTER_MS) {
        if (!data.lowerCheck) {
          data.lowerCheck = setTimeout(
            () => {
              data.lowerCheck = undefined;
              if (!this.#closed && !producer.closed) this.reconcile(this.#state);
            },
            LOWER_LAYERS_AFTER_MS - (Date.now() - since) + 50,
          );
          data.lowerCheck.unref();
        }
        return;
      }
      data.lowerSince = undefined;
    }
    data.maxLayer = want;
    sender.onProducerLayers?.(producer.id, want);
  }

  async #consume(receiver: PeerMedia, sender: PeerMedia, producer: types.Producer): Promise<void> {
    const source = producer.appData.source as MediaSource;
    const caps = receiver.rtpCapabilities;
    const slot = this.#routers.get(receiver.worker);
    if (!caps || !slot) return;
    const transport = [...receiver.transports.values()].find((t) => t.appData.direction === 'recv');
    if (!transport) return;
    receiver.pending.add(producer.id);
    let consumer: types.Consumer;
    try {
      // Only what the receiver can take crosses to its worker.
      const from = this.#routers.get(sender.worker);
      if (!from?.router.canConsume({ producerId: producer.id, rtpCapabilities: caps })) {
        receiver.pending.delete(producer.id);
        return;
      }
      if (receiver.worker !== sender.worker) await this.#pipe(producer, sender.worker, receiver.worker);
      if (!slot.router.canConsume({ producerId: producer.id, rtpCapabilities: caps })) {
        receiver.pending.delete(producer.id);
        return;
      }
      if (producer.closed || transport.closed) throw new Error('gone while piping');
      const layer = preferredLayer(this.#state, receiver.party, sender.party);
      consumer = await transport.consume({
        producerId: producer.id,
        rtpCapabilities: caps,
        paused: true,
        ...(producer.kind === 'video' ? { preferredLayers: { spatialLayer: SPATIAL[layer] } } : {}),
        appData: { acked: false, layer },
      });
    } catch (e) {
      receiver.pending.delete(producer.id);
      log.warn('consume failed', { receiver: receiver.id, producer: producer.id, error: e });
      return;
    }
    receiver.consumers.set(producer.id, consumer);
    receiver.pending.delete(producer.id);
    const forget = () => {
      if (receiver.consumers.get(producer.id) === consumer) receiver.consumers.delete(producer.id);
    };
    consumer.on('producerclose', () => {
      forget();
      if (this.#peers.get(receiver.id) === receiver) receiver.onConsumerClosed(consumer.id);
    });
    consumer.on('transportclose', forget);
    try {
      await receiver.sendOffer({
        id: consumer.id,
        producerId: producer.id,
        kind: consumer.kind,
        rtpParameters: consumer.rtpParameters as unknown as Record<string, unknown>,
        source,
        site: sender.site,
        role: sender.party.role,
        principal: sender.party.principal,
      });
      consumer.appData.acked = true;
      receiver.offerFailures = 0;
      receiver.refusedUntil.delete(producer.id);
      if (!consumer.closed) gate(consumer, !shouldFlow(this.#state, receiver.party, sender.party, source));
    } catch (e) {
      consumer.close();
      forget();
      if (this.#peers.get(receiver.id) !== receiver) return;
      // Refused, or not answered in time (a page busy joining in a storm): the client drops it if
      // it made it, and the offer is made again later, backing off (0.5 s doubling to 30 s) so a
      // client that refuses everything costs little. Without this a missed offer stayed missing
      // until the next change of the conference.
      receiver.onConsumerClosed(consumer.id);
      // One backoff step per retry pass (not per refused offer), and the refused producer is not
      // offered again before the pass, whatever else reconciles meanwhile (a client sending
      // session:ready again cannot make the server loop on consumers).
      const delay = Math.min(30_000, 500 * 2 ** Math.min(receiver.offerFailures, 6));
      receiver.refusedUntil.set(producer.id, Date.now() + delay);
      log.warn('consumer offer not taken; offering again later', {
        receiver: receiver.id,
        inMs: delay,
        error: e,
      });
      if (!receiver.offerRetry) {
        receiver.offerFailures += 1;
        receiver.offerRetry = setTimeout(() => {
          receiver.offerRetry = undefined;
          if (!this.#closed && this.#peers.get(receiver.id) === receiver) this.reconcile(this.#state);
        }, delay);
        receiver.offerRetry.unref();
      }
    }
  }

  /**
   * Brings a producer into another worker's router (once per producer and router; racing
   * consumers wait for the same pipe). The pipe follows the producer: paused, resumed and
   * closed with it, so the microphone gate holds on every worker.
   */
  #pipe(producer: types.Producer, from: number, to: number): Promise<void> {
    const key = `${producer.id}>${to}`;
    const existing = this.#pipes.get(key);
    if (existing) return existing;
    const source = this.#routers.get(from);
    const target = this.#routers.get(to);
    if (!source || !target) return Promise.reject(new Error('media worker gone'));
    const piped: Promise<void> = source.router
      .pipeToRouter({ producerId: producer.id, router: target.router })
      .then(({ pipeProducer }) => {
        if (!pipeProducer) throw new Error('no pipe producer');
        pipeProducer.observer.once('close', () => {
          if (this.#pipes.get(key) === piped) this.#pipes.delete(key);
        });
      })
      .catch((e: unknown) => {
        // Any failure, ours included: not cached, the next consumer tries again.
        if (this.#pipes.get(key) === piped) this.#pipes.delete(key);
        throw e;
      });
    this.#pipes.set(key, piped);
    return piped;
  }

  /** What a site publishes and how well: for the chair's and operators' roster. */
  siteMedia(siteCode: string): { camera: boolean; microphone: boolean; poor: boolean } {
    const out = { camera: false, microphone: false, poor: false };
    for (const p of this.#peers.values()) {
      if (
        p.party.siteCode !== siteCode ||
        (p.party.role !== 'site' && p.party.principal !== this.#state.chairHolder)
      )
        continue;
      for (const pr of p.producers.values()) {
        if (pr.appData.source === 'camera') {
          out.camera = true;
          out.poor ||= pr.appData.poor === true;
        }
        if (pr.appData.source === 'microphone') out.microphone = true;
      }
    }
    return out;
  }

  /**
   * The SFU's own figures of a site's media (its hall's session, or the chair's for the central
   * bridge), for its health: bytes and bitrates of its transports both ways, and of its
   * producers loss, jitter, score, NACKs and PLIs (counters since they were made), and the
   * round trip time from one of its consumers' receiver reports. Null when it has no media.
   */
  async siteStats(siteCode: string): Promise<RawSiteStats | null> {
    const peers = [...this.#peers.values()].filter(
      (p) =>
        p.party.siteCode === siteCode &&
        (p.party.role === 'site' || p.party.principal === this.#state.chairHolder),
    );
    if (peers.length === 0) return null;
    const out: RawSiteStats = {
      bytesIn: 0,
      bytesOut: 0,
      upBps: 0,
      downBps: 0,
      upLossPct: null,
      downLossPct: null,
      jitterMs: null,
      rttMs: null,
      score: null,
      nacks: 0,
      plis: 0,
      transports: 0,
      producers: 0,
    };
    const max = (a: number | null, b: number) => (a === null ? b : Math.max(a, b));
    const jobs: Promise<void>[] = [];
    for (const p of peers) {
      for (const t of [...p.transports.values(), ...p.plain.values()]) {
        out.transports += 1;
        jobs.push(
          t.getStats().then(([st]) => {
            if (!st) return;
            out.bytesIn += st.bytesReceived;
            out.bytesOut += st.bytesSent;
            out.upBps += st.recvBitrate;
            out.downBps += st.sendBitrate;
          }),
        );
      }
      for (const pr of p.producers.values()) {
        out.producers += 1;
        jobs.push(
          pr.getStats().then((list) => {
            // A paused producer (a hall's microphone off air) and the simulcast layers it does
            // not send score 0 without anything being wrong: its best stream speaks for it.
            let best: number | null = null;
            for (const st of list) {
              // jitter is in RTP clock units: 48 kHz audio, 90 kHz video.
              const ms = (st.jitter / (pr.kind === 'audio' ? 48 : 90)) | 0;
              out.jitterMs = max(out.jitterMs, ms);
              // fractionLost is RTCP's: lost share of the last interval, in 256ths.
              out.upLossPct = max(out.upLossPct, (st.fractionLost / 256) * 100);
              best = best === null ? st.score : Math.max(best, st.score);
              out.nacks += st.nackCount;
              out.plis += st.pliCount;
              if (st.roundTripTime) out.rttMs = max(out.rttMs, st.roundTripTime);
            }
            if (best !== null && !pr.paused)
              out.score = out.score === null ? best : Math.min(out.score, best);
          }),
        );
      }
      const consumer = [...p.consumers.values()].find((c) => !c.paused && !c.producerPaused);
      if (consumer)
        jobs.push(
          consumer.getStats().then((list) => {
            for (const st of list) {
              if (st.type !== 'outbound-rtp') continue;
              if (st.roundTripTime) out.rttMs = max(out.rttMs, st.roundTripTime);
              out.downLossPct = max(out.downLossPct, (st.fractionLost / 256) * 100);
            }
          }),
        );
    }
    // A transport or producer closed meanwhile: its figures are simply missing from this sample.
    await Promise.allSettled(jobs);
    return out;
  }

  /**
   * An ICE restart of one of the peer's transports (its client saw the connection fail):
   * fresh ICE credentials for the client to use.
   */
  async restartIce(peerId: string, transportId: string): Promise<Record<string, unknown>> {
    const t = this.#transport(peerId, transportId);
    return (await this.#asRequest(() => t.restartIce())) as unknown as Record<string, unknown>;
  }

  /** For the wall benchmark and monitoring: the layer each wall consumer is set to and forwards. */
  wallLayers(): { from: string; preferred: string; currentSpatial: number | null }[] {
    const out: { from: string; preferred: string; currentSpatial: number | null }[] = [];
    for (const p of this.#peers.values()) {
      if (p.party.role !== 'wall') continue;
      for (const [producerId, c] of p.consumers) {
        if (c.kind !== 'video') continue;
        const sender = [...this.#peers.values()].find((x) => x.producers.has(producerId));
        out.push({
          from: sender?.party.principal ?? '?',
          preferred: String(c.appData.layer ?? ''),
          currentSpatial: c.currentLayers?.spatialLayer ?? null,
        });
      }
    }
    return out;
  }

  /** Counts for health and tests: producers and consumers, and how many microphones are live. */
  stats(): { peers: number; producers: number; consumers: number; liveMicrophones: string[] } {
    let producers = 0;
    let consumers = 0;
    const live: string[] = [];
    for (const p of this.#peers.values()) {
      producers += p.producers.size;
      consumers += p.consumers.size;
      for (const pr of p.producers.values()) {
        if (pr.appData.source === 'microphone' && !pr.paused) live.push(p.party.principal);
      }
    }
    return { peers: this.#peers.size, producers, consumers, liveMicrophones: live.sort() };
  }

  /**
   * Opens an RTP ingest for a hall: its AV system (a hardware encoder, ffmpeg, GStreamer, OBS)
   * publishes the hall's camera and microphone over plain RTP (or SRTP), to two ports the answer
   * names (comedia: the server learns the sender's address from its first packet). They become
   * the site's camera and microphone under the same rules as a browser's: the microphone is
   * paused on the server unless the site is on air. While it is open the hall's browser may not
   * publish a camera or microphone (and the ones it had are closed). Opening it again replaces it.
   * `onLost` is called if the worker carrying it dies (the encoder must be given the new ports).
   */
  async openIngest(
    site: SiteInfo,
    opts: { video: IngestVideoCodec; srtp: boolean },
    onLost: () => void,
  ): Promise<IngestInfo> {
    const code = site.code;
    this.closeIngest(code);
    const id = ingestId(code);
    const party: Party = { role: 'site', principal: code, siteCode: code };
    this.addPeer({
      id,
      ingest: true,
      party,
      site,
      sendOffer: () => Promise.reject(new Error('an ingest does not receive')),
      onConsumerClosed: () => undefined,
      onMediaLost: () => {
        this.#ingests.delete(code);
        onLost();
      },
    });
    const peer = this.#peer(id);
    try {
      // The browser's own camera and microphone give way to the AV system's.
      for (const p of this.#peers.values())
        if (p !== peer && p.party.role === 'site' && p.party.siteCode === code)
          for (const pr of [...p.producers.values()]) if (pr.appData.source !== 'screen') pr.close();
      const slot = this.#routers.get(peer.worker);
      if (!slot) throw new MediaRequestError('unavailable', 'no media worker is running');
      const audio = await this.#ingestStream(peer, slot.router, 'audio', opts);
      const video = await this.#ingestStream(peer, slot.router, 'video', opts);
      if (this.#peers.get(id) !== peer) throw new MediaRequestError('not-found', 'the ingest was closed');
      const info: IngestInfo = {
        siteCode: code,
        videoCodec: opts.video,
        audio: audio.stream,
        video: video.stream,
        srtp: audio.key ? { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: audio.key } : null,
        openedAt: Date.now(),
      };
      // One key for both streams: the encoder is given one.
      if (audio.key && video.key !== audio.key) throw new Error('SRTP keys of an ingest differ');
      this.#ingests.set(code, info);
      this.reconcile(this.#state);
      this.onSiteMedia(code);
      log.info('RTP ingest opened', { site: code, video: opts.video, srtp: opts.srtp, worker: peer.worker });
      return info;
    } catch (e) {
      // Replaced meanwhile by a second request for the same hall: its ingest is not ours to
      // remove; only what this one made goes.
      if (this.#peers.get(id) === peer) this.removePeer(id);
      else for (const t of peer.plain.values()) t.close();
      throw e;
    }
  }

  async #ingestStream(
    peer: PeerMedia,
    router: types.Router,
    kind: MediaKind,
    opts: { video: IngestVideoCodec; srtp: boolean },
  ): Promise<{ stream: IngestStream; key: string | null }> {
    const transport = await this.#plainTransport(router, opts.srtp, kind);
    peer.plain.set(transport.id, transport);
    let key: string | null = null;
    if (opts.srtp) {
      key = transport.srtpParameters?.keyBase64 ?? null;
      if (!key) throw new Error('no SRTP parameters on the ingest transport');
      if (kind === 'video') {
        // Both streams with the audio's key: the encoder is given one key.
        const audioKey = [...peer.plain.values()].find((t) => t !== transport)?.srtpParameters?.keyBase64;
        if (audioKey) {
          await transport.connect({
            srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: audioKey },
          });
          key = audioKey;
        }
      } else {
        await transport.connect({
          srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: key },
        });
      }
    }
    const ssrc = 0x10000000 + Math.floor(Math.random() * 0x6fffffff);
    const codec =
      kind === 'audio'
        ? {
            mimeType: 'audio/opus',
            payloadType: INGEST_PT.audio,
            clockRate: 48000,
            channels: 2,
            parameters: { 'sprop-stereo': 1 } as Record<string, string | number>,
          }
        : {
            mimeType: `video/${opts.video}`,
            payloadType: INGEST_PT[opts.video],
            clockRate: 90000,
            parameters: (opts.video === 'H264'
              ? { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 }
              : {}) as Record<string, string | number>,
          };
    const source: MediaSource = kind === 'audio' ? 'microphone' : 'camera';
    const paused = kind === 'audio' && !micLive(this.#state, peer.party);
    const producer = await transport.produce({
      kind,
      rtpParameters: {
        codecs: [{ ...codec, rtcpFeedback: kind === 'video' ? INGEST_FEEDBACK : [] }],
        encodings: [{ ssrc }],
      },
      paused,
      appData: { source, peerId: peer.id, wantPaused: paused, poor: false },
    });
    peer.producers.set(producer.id, producer);
    producer.observer.once('close', () => {
      peer.producers.delete(producer.id);
      this.onSiteMedia(peer.party.siteCode);
    });
    const announced = this.#plainListen.announcedIp || transport.tuple.localIp;
    return {
      stream: {
        ip: announced,
        port: transport.tuple.localPort,
        rtcpPort: transport.rtcpTuple?.localPort ?? transport.tuple.localPort,
        payloadType: codec.payloadType,
        ssrc,
        mimeType: codec.mimeType,
        clockRate: codec.clockRate,
        ...('channels' in codec ? { channels: codec.channels } : {}),
        parameters: codec.parameters,
      },
      key,
    };
  }

  /** A plain transport for an ingest, on ports of the configured range (RTP and RTCP apart). */
  async #plainTransport(router: types.Router, srtp: boolean, kind: MediaKind): Promise<types.PlainTransport> {
    const { ip, announcedIp, portMin, portMax } = this.#plainListen;
    const base = {
      listenIp: announcedIp ? { ip, announcedIp } : ip,
      rtcpMux: false,
      comedia: true,
      ...(srtp ? { enableSrtp: true, srtpCryptoSuite: 'AES_CM_128_HMAC_SHA1_80' as const } : {}),
      appData: { kind },
    };
    if (!portMin) return router.createPlainTransport(base);
    // mediasoup picks the RTCP port itself; RTP ports are tried in the range until one is free.
    for (let port = portMin; port <= portMax; port += 2) {
      if (this.#plainPorts.has(port)) continue;
      try {
        const t = await router.createPlainTransport({ ...base, port });
        const ports = [port, t.rtcpTuple?.localPort ?? port];
        for (const p of ports) this.#plainPorts.add(p);
        t.observer.once('close', () => ports.forEach((p) => this.#plainPorts.delete(p)));
        return t;
      } catch (e) {
        log.debug('ingest port taken, trying the next', { port, error: e });
      }
    }
    throw new MediaRequestError('unavailable', `no free RTP port in ${portMin}–${portMax}`);
  }

  /** Closes a hall's RTP ingest; its camera and microphone leave the conference. */
  closeIngest(siteCode: string): boolean {
    const had = this.#ingests.delete(siteCode);
    if (!this.#peers.has(ingestId(siteCode))) return had;
    this.removePeer(ingestId(siteCode));
    this.onSiteMedia(siteCode);
    log.info('RTP ingest closed', { site: siteCode });
    return true;
  }

  ingest(siteCode: string): IngestInfo | undefined {
    return this.#ingests.get(siteCode);
  }

  /** The sites with an open RTP ingest. */
  ingestSites(): string[] {
    return [...this.#ingests.keys()];
  }

  /** Bytes received so far by a hall's ingest (RTP, both streams); null when none is open. */
  async ingestBytes(siteCode: string): Promise<number | null> {
    const peer = this.#peers.get(ingestId(siteCode));
    if (!peer) return null;
    let bytes = 0;
    await Promise.allSettled(
      [...peer.plain.values()].map((t) =>
        t.getStats().then(([st]) => {
          bytes += st?.rtpBytesReceived ?? 0;
        }),
      ),
    );
    return bytes;
  }

  /**
   * The live producer of a party's source: a site's (its browser's or its ingest's), or a
   * person's at the central bridge (by principal).
   */
  producerOf(
    who: { siteCode?: string; principal?: string },
    source: MediaSource,
  ): types.Producer | undefined {
    for (const p of this.#peers.values()) {
      const match =
        who.principal !== undefined
          ? p.party.principal === who.principal && p.party.role !== 'site'
          : p.party.role === 'site' && p.party.siteCode === who.siteCode;
      if (!match) continue;
      for (const pr of p.producers.values()) if (pr.appData.source === source && !pr.closed) return pr;
    }
    return undefined;
  }

  /**
   * Copies producers out to a receiver on this host (a recorder: ffmpeg reading an SDP), without
   * transcoding: one plain transport per stream, on the router of the first producer (the others
   * are piped there), each sending RTP (RTCP muxed) to 127.0.0.1:port. The consumers start
   * paused: `start()` once the receiver listens, so that its first video packet is a key frame.
   */
  async openTap(wanted: { producer: types.Producer; port: number }[]): Promise<Tap> {
    const first = wanted[0];
    if (!first) throw new Error('nothing to tap');
    const workerOf = (producerId: string) =>
      [...this.#peers.values()].find((p) => p.producers.has(producerId))?.worker;
    const home = workerOf(first.producer.id);
    const slot = home === undefined ? undefined : this.#routers.get(home);
    if (home === undefined || !slot) throw new MediaRequestError('not-found', 'the producer is gone');
    const transports: types.PlainTransport[] = [];
    const consumers: types.Consumer[] = [];
    const streams: TapStream[] = [];
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      for (const t of transports) t.close();
    };
    try {
      for (const { producer, port } of wanted) {
        const from = workerOf(producer.id);
        if (from === undefined) throw new MediaRequestError('not-found', 'the producer is gone');
        if (from !== home) await this.#pipe(producer, from, home);
        const t = await slot.router.createPlainTransport({
          listenIp: '127.0.0.1',
          rtcpMux: true,
          comedia: false,
        });
        transports.push(t);
        await t.connect({ ip: '127.0.0.1', port });
        const consumer = await t.consume({
          producerId: producer.id,
          rtpCapabilities: slot.router.rtpCapabilities,
          paused: true,
          // A simulcast camera starts from its lowest layer, which always runs, and climbs once
          // it flows: started at the top, the first picture waited for the top layer's key frame,
          // a second or more when the sender had just dropped that layer (CPU or bandwidth).
          ...(producer.kind === 'video' ? { preferredLayers: { spatialLayer: 0, temporalLayer: 2 } } : {}),
        });
        if (consumer.type === 'simulcast') {
          const climb = (layers?: types.ConsumerLayers) => {
            if (!layers || consumer.closed) return;
            consumer.off('layerschange', climb);
            void consumer.setPreferredLayers({ spatialLayer: 2, temporalLayer: 2 }).catch(() => undefined);
          };
          consumer.on('layerschange', climb);
        }
        consumers.push(consumer);
        const codec = consumer.rtpParameters.codecs[0];
        if (!codec) throw new Error('a consumer without a codec');
        streams.push({
          producerId: producer.id,
          kind: producer.kind,
          port,
          payloadType: codec.payloadType,
          mimeType: codec.mimeType,
          clockRate: codec.clockRate,
          ...(codec.channels ? { channels: codec.channels } : {}),
          parameters: codec.parameters ?? {},
        });
      }
    } catch (e) {
      close();
      throw e;
    }
    return {
      streams,
      get closed() {
        return closed;
      },
      async start() {
        await Promise.all(consumers.filter((c) => !c.closed).map((c) => c.resume()));
        for (const c of consumers)
          if (c.kind === 'video' && !c.closed) void c.requestKeyFrame().catch(() => undefined);
      },
      keyFrame() {
        for (const c of consumers)
          if (c.kind === 'video' && !c.closed) void c.requestKeyFrame().catch(() => undefined);
      },
      async stats() {
        return Promise.all(
          consumers.map(async (c) => {
            const list = c.closed ? [] : await c.getStats().catch(() => []);
            const out = list.find((x) => x.type === 'outbound-rtp');
            return { producerId: c.producerId, bytes: out?.byteCount ?? 0, packets: out?.packetCount ?? 0 };
          }),
        );
      },
      close,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#peers.clear();
    this.#pipes.clear();
    for (const slot of this.#routers.values()) slot.router.close();
    this.#routers.clear();
  }

  #peer(id: string): PeerMedia {
    const peer = this.#peers.get(id);
    if (!peer) throw new MediaRequestError('not-found', 'peer has no media session');
    return peer;
  }

  #transport(peerId: string, transportId: string): types.WebRtcTransport {
    const t = this.#peer(peerId).transports.get(transportId);
    if (!t) throw new MediaRequestError('not-found', `transport ${transportId} not found`);
    return t;
  }

  /** mediasoup throws TypeError for invalid parameters: that is the caller's fault. */
  async #asRequest<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof TypeError || (e instanceof Error && e.name === 'UnsupportedError')) {
        throw new MediaRequestError('bad-request', e.message);
      }
      if (e instanceof Error && e.name === 'InvalidStateError') {
        throw new MediaRequestError('not-found', `no longer there: ${e.message}`);
      }
      throw e;
    }
  }
}

/** Asks a simulcast consumer for a spatial layer (mediasoup forwards the best that exists up to it). */
function setLayer(consumer: types.Consumer, layer: keyof typeof SPATIAL): void {
  if (consumer.appData.layer === layer || consumer.closed) return;
  consumer.appData.layer = layer;
  void consumer
    .setPreferredLayers({ spatialLayer: SPATIAL[layer], temporalLayer: 2 })
    .catch((e: unknown) => log.warn('setPreferredLayers failed', { id: consumer.id, error: e }));
}

/**
 * Pauses or resumes a producer or consumer on the server. Calls are chained per object, so
 * a grant quickly followed by a revoke always ends paused (the last wish wins, in order).
 */
function gate(target: types.Producer | types.Consumer, paused: boolean): void {
  const data = target.appData as { wantPaused?: boolean; gate?: Promise<void> };
  const current = data.wantPaused ?? target.paused;
  if (current === paused || target.closed) return;
  data.wantPaused = paused;
  data.gate = (data.gate ?? Promise.resolve())
    .then(() => (target.closed ? undefined : paused ? target.pause() : target.resume()))
    .catch((e: unknown) => log.warn(paused ? 'pause failed' : 'resume failed', { id: target.id, error: e }));
}
