/**
 * The media side of one conference: its Router, and per connected peer the transports,
 * producers and consumers. It forwards media only as the programme policy says
 * (`shouldReceive`), and creates consumers itself: a client never picks what it receives.
 */
import type { types } from 'mediasoup';
import type { ConsumerOffer, MediaKind, MediaSource, Role, SiteInfo } from '../../../protocol/events';
import { shouldReceive } from '../core/programme';
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

/** A problem the client caused (bad parameters, unknown id): mapped to BAD_REQUEST / NOT_FOUND. */
export class MediaRequestError extends Error {
  override name = 'MediaRequestError';
  constructor(
    readonly kind: 'bad-request' | 'not-found',
    message: string,
  ) {
    super(message);
  }
}

/** Sends a consumer offer to the peer's client and resolves when the client has created it. */
export type OfferSender = (offer: ConsumerOffer) => Promise<void>;

interface PeerMedia {
  id: string;
  site: SiteInfo;
  role: Role;
  transports: Map<string, types.WebRtcTransport>;
  producers: Map<string, types.Producer>;
  consumers: Map<string, types.Consumer>;
  rtpCapabilities?: types.RtpCapabilities;
  sendOffer: OfferSender;
  onConsumerClosed: (id: string) => void;
}

const MAX_TRANSPORTS_PER_PEER = 2;
const MAX_PRODUCERS_PER_PEER = 4;

export class ConferenceMedia {
  readonly #pool: WorkerPool;
  #entry: PoolEntry;
  #router: types.Router;
  readonly #peers = new Map<string, PeerMedia>();
  #closed = false;

  private constructor(pool: WorkerPool, entry: PoolEntry, router: types.Router) {
    this.#pool = pool;
    this.#entry = entry;
    this.#router = router;
  }

  static async create(pool: WorkerPool): Promise<ConferenceMedia> {
    const entry = pool.pick();
    const router = await entry.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    return new ConferenceMedia(pool, entry, router);
  }

  get rtpCapabilities(): types.RtpCapabilities {
    return this.#router.rtpCapabilities;
  }

  get workerIndex(): number {
    return this.#entry.index;
  }

  /** After a worker death: a fresh router on a live worker. Peers must join again. */
  async rebuild(): Promise<void> {
    for (const id of [...this.#peers.keys()]) this.removePeer(id);
    this.#entry = this.#pool.pick();
    this.#router = await this.#entry.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  }

  addPeer(
    id: string,
    site: SiteInfo,
    role: Role,
    sendOffer: OfferSender,
    onConsumerClosed: (id: string) => void,
  ): void {
    if (this.#peers.has(id)) throw new Error(`peer ${id} already in the conference media`);
    this.#peers.set(id, {
      id,
      site,
      role,
      transports: new Map(),
      producers: new Map(),
      consumers: new Map(),
      sendOffer,
      onConsumerClosed,
    });
  }

  removePeer(id: string): void {
    const peer = this.#peers.get(id);
    if (!peer) return;
    this.#peers.delete(id);
    // Closing transports closes their producers and consumers (mediasoup cascades),
    // and the consumers of others on those producers ('producerclose').
    for (const t of peer.transports.values()) t.close();
  }

  async createTransport(peerId: string, direction: 'send' | 'recv'): Promise<types.WebRtcTransport> {
    const peer = this.#peer(peerId);
    const existing = [...peer.transports.values()].find((t) => t.appData.direction === direction);
    if (existing) return existing;
    if (peer.transports.size >= MAX_TRANSPORTS_PER_PEER) {
      throw new MediaRequestError('bad-request', 'too many transports');
    }
    const transport = await this.#router.createWebRtcTransport({
      webRtcServer: this.#entry.webRtcServer,
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
    transport.on('dtlsstatechange', (state) => {
      if (state === 'failed' || state === 'closed') log.warn('transport DTLS state', { peerId, state });
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
    if ((source === 'camera') !== (kind === 'video')) {
      throw new MediaRequestError('bad-request', `source ${source} cannot be ${kind}`);
    }
    if ([...peer.producers.values()].some((p) => p.appData.source === source)) {
      throw new MediaRequestError('bad-request', `already producing ${source}`);
    }
    if (peer.producers.size >= MAX_PRODUCERS_PER_PEER)
      throw new MediaRequestError('bad-request', 'too many producers');
    const producer = await this.#asRequest(() =>
      transport.produce({
        kind,
        rtpParameters: rtpParameters as types.RtpParameters,
        appData: { source, peerId },
      }),
    );
    peer.producers.set(producer.id, producer);
    producer.observer.once('close', () => peer.producers.delete(producer.id));
    for (const other of this.#peers.values()) {
      if (other.rtpCapabilities) void this.#consume(other, peer, producer);
    }
    return producer;
  }

  /** The peer can receive: offer it everything the programme says it should get. */
  async setReady(peerId: string, rtpCapabilities: unknown): Promise<void> {
    const peer = this.#peer(peerId);
    const caps = rtpCapabilities as types.RtpCapabilities;
    if (!Array.isArray(caps.codecs))
      throw new MediaRequestError('bad-request', 'rtpCapabilities.codecs missing');
    peer.rtpCapabilities = caps;
    const jobs: Promise<void>[] = [];
    for (const sender of this.#peers.values()) {
      for (const producer of sender.producers.values()) jobs.push(this.#consume(peer, sender, producer));
    }
    await Promise.all(jobs);
  }

  async #consume(receiver: PeerMedia, sender: PeerMedia, producer: types.Producer): Promise<void> {
    const source = producer.appData.source as MediaSource;
    if (!shouldReceive(party(receiver), party(sender), source)) return;
    const caps = receiver.rtpCapabilities;
    if (!caps || !this.#router.canConsume({ producerId: producer.id, rtpCapabilities: caps })) return;
    const transport = [...receiver.transports.values()].find((t) => t.appData.direction === 'recv');
    if (!transport) return;
    let consumer: types.Consumer;
    try {
      consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: caps, paused: true });
    } catch (e) {
      log.warn('consume failed', { receiver: receiver.id, producer: producer.id, error: e });
      return;
    }
    receiver.consumers.set(consumer.id, consumer);
    const gone = () => {
      receiver.consumers.delete(consumer.id);
      if (this.#peers.get(receiver.id) === receiver) receiver.onConsumerClosed(consumer.id);
    };
    consumer.on('producerclose', gone);
    consumer.on('transportclose', () => receiver.consumers.delete(consumer.id));
    try {
      await receiver.sendOffer({
        id: consumer.id,
        producerId: producer.id,
        kind: consumer.kind,
        rtpParameters: consumer.rtpParameters as unknown as Record<string, unknown>,
        source,
        site: sender.site,
        role: sender.role,
      });
      if (!consumer.closed) await consumer.resume();
    } catch (e) {
      log.warn('consumer offer not taken', { receiver: receiver.id, error: e });
      consumer.close();
      receiver.consumers.delete(consumer.id);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#peers.clear();
    this.#router.close();
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
      throw e;
    }
  }
}

function party(p: PeerMedia) {
  return { siteCode: p.site.code, role: p.role };
}
