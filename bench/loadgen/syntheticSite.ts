/**
 * A synthetic hall (or the chair) with real WebRTC: it joins through the real signalling with its
 * real credential, connects each mediasoup transport with werift (ICE, DTLS, SRTP: nothing faked),
 * publishes a microphone (Opus silence, as a hall always does) and a camera (pre-encoded VP8 in
 * three simulcast layers, 150 / 450 / 1,200 kbit/s), accepts the server's consumer offers and
 * counts the RTP it receives per consumer.
 *
 * Why werift with pre-encoded packets, not a browser engine: encoding is what costs (six Chromium
 * senders filled this 2-core machine). werift is used for ICE and DTLS: one peer connection per
 * mediasoup transport, always the offerer with one placeholder m-section, and the answer is
 * written from the transport's parameters (mediasoup never sees SDP). RTP then goes through
 * ./srtp on the pair ICE nominated, with the DTLS keys: written with one header per stream, and
 * counted on arrival from its clear header, one packet in 16 of each stream decrypted and
 * authenticated by werift. Any number of streams (simulcast) share the transport. Like a page,
 * a hall obeys dynacast (`producer:layers`): it sends only the camera layers someone watches.
 */
import type { Socket } from 'socket.io-client';
import { type RTCDtlsTransport, RTCPeerConnection, RTCRtpCodecParameters, type RtpPacket } from 'werift';
import type { Ack, ConsumerOffer, JoinResult, TransportOptions } from '../../protocol/events';
import { connect, ok } from '../../tests/helpers/wsClient';
import {
  OPUS_SILENCE,
  RtpStream,
  type Vp8Frame,
  loadLayers,
  opusParameters,
  randomSsrc,
  vp8SimulcastParameters,
} from './rtp';
import { SrtpSender, VERIFY_EVERY, interceptRtp } from './srtp';

/** Joins under load take seconds: the load generator waits longer than the tests' 5 s. */
const TIMEOUT_MS = 15_000;
export const request = <T>(socket: Socket, event: string, payload: unknown): Promise<T> =>
  ok<T>(socket, event, payload, TIMEOUT_MS);

/** The SDP answer werift needs, written from a mediasoup transport's ICE and DTLS parameters. */
export function remoteAnswer(offerSdp: string, t: TransportOptions): string {
  const mid = /a=mid:(\S+)/.exec(offerSdp)?.[1] ?? '0';
  const dir = /a=(sendonly|recvonly|sendrecv)/.exec(offerSdp)?.[1] ?? 'sendrecv';
  const answerDir = { sendonly: 'recvonly', recvonly: 'sendonly', sendrecv: 'sendrecv' }[dir] as string;
  const fingerprints = (t.dtlsParameters as { fingerprints: { algorithm: string; value: string }[] })
    .fingerprints;
  const fp =
    fingerprints.find((f) => f.algorithm === 'sha-256') ??
    (fingerprints[0] as { algorithm: string; value: string });
  const ice = t.iceParameters as { usernameFragment: string; password: string };
  const candidates = (
    t.iceCandidates as {
      foundation: string;
      priority: number;
      address?: string;
      ip?: string;
      port: number;
      type: string;
      protocol: string;
    }[]
  )
    .filter((c) => c.protocol === 'udp')
    .map(
      (c) => `a=candidate:${c.foundation} 1 udp ${c.priority} ${c.address ?? c.ip} ${c.port} typ ${c.type}`,
    );
  return [
    'v=0',
    'o=mediasoup 10000 1 IN IP4 0.0.0.0',
    's=-',
    't=0 0',
    'a=ice-lite',
    `a=group:BUNDLE ${mid}`,
    'a=msid-semantic: WMS *',
    'm=audio 7 UDP/TLS/RTP/SAVPF 111',
    'c=IN IP4 127.0.0.1',
    'a=rtpmap:111 opus/48000/2',
    `a=mid:${mid}`,
    `a=${answerDir}`,
    `a=ice-ufrag:${ice.usernameFragment}`,
    `a=ice-pwd:${ice.password}`,
    ...candidates,
    'a=end-of-candidates',
    `a=fingerprint:${fp.algorithm} ${fp.value}`,
    'a=setup:passive', // mediasoup is the DTLS server
    'a=rtcp-mux',
    'a=rtcp-rsize',
    '',
  ].join('\r\n');
}

const peerConfig = () => ({
  iceServers: [], // werift's default is a public STUN server: never here
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ['127.0.0.1'],
  codecs: {
    audio: [
      new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 111 }),
    ],
  },
  headerExtensions: { audio: [], video: [] },
});

/** Connects a mediasoup transport with werift; resolves once DTLS is up. */
export async function openTransport(
  socket: Socket,
  t: TransportOptions,
  direction: 'send' | 'recv',
): Promise<{ pc: RTCPeerConnection; dtls: RTCDtlsTransport }> {
  const pc = new RTCPeerConnection(peerConfig());
  pc.addTransceiver('audio', { direction: direction === 'send' ? 'sendonly' : 'recvonly' });
  await pc.setLocalDescription(await pc.createOffer());
  const local = pc.localDescription?.sdp ?? '';
  const fp = /a=fingerprint:(\S+) (\S+)/.exec(local);
  if (!fp) throw new Error('werift offered no DTLS fingerprint');
  await request(socket, 'transport:connect', {
    transportId: t.id,
    dtlsParameters: { role: 'client', fingerprints: [{ algorithm: fp[1], value: fp[2] }] },
  });
  await pc.setRemoteDescription({ type: 'answer', sdp: remoteAnswer(local, t) });
  const dtls = pc.getTransceivers()[0]?.sender.dtlsTransport as RTCDtlsTransport;
  if (dtls.state !== 'connected') {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`DTLS not connected after 15 s (${dtls.state})`)),
        15_000,
      );
      dtls.onStateChange.subscribe((s) => {
        if (s === 'connected') {
          clearTimeout(timer);
          resolve();
        } else if (s === 'failed') {
          clearTimeout(timer);
          reject(new Error('DTLS failed'));
        }
      });
    });
  }
  return { pc, dtls };
}

/** What a synthetic hall can receive: the router's Opus and VP8, no RTX, no header extensions. */
function receiveCapabilities(router: Record<string, unknown>): Record<string, unknown> {
  const codecs = (router.codecs as { mimeType: string; kind: string }[])
    .filter((c) => c.mimeType === 'audio/opus' || c.mimeType === 'video/VP8')
    .map((c) => ({ ...c, rtcpFeedback: c.kind === 'video' ? [{ type: 'nack', parameter: 'pli' }] : [] }));
  return { codecs, headerExtensions: [] };
}

export interface Received {
  consumerId: string;
  from: string;
  kind: 'audio' | 'video';
  source: string;
  packets: number;
  /** Bytes on the wire (SRTP). */
  bytes: number;
  /** Packets handed to werift to decrypt and authenticate, and those that passed. */
  checked: number;
  verified: number;
  /** Epoch ms of the first packet (for the grant → first audio figure). */
  firstAt: number | null;
  /**
   * Packets the sequence numbers say were sent to this site since its first one (highest −
   * first + 1, across wraps): mediasoup keeps a consumer's numbers gapless across layer switches
   * and pauses, so `packets ÷ expected` is what arrived of what was forwarded (RFC 3550 loss).
   */
  expected: number;
  /** Highest sequence number so far, extended past 65,535. */
  maxSeq: number;
  /** RTP timestamps of the first packet and of the highest sequence number (the sender's clock). */
  firstTs: number;
  lastTs: number;
  closed: boolean;
}

let sharedLayers: { rid: string; frames: Vp8Frame[] }[] | undefined;

export class SyntheticSite {
  socket!: Socket;
  join!: JoinResult;
  readonly #received = new Map<number, Received>();
  #timers: NodeJS.Timeout[] = [];
  #peers: RTCPeerConnection[] = [];
  #audio?: RtpStream;
  #video: RtpStream[] = [];
  /** What earlier sessions sent (the counters go on across a rejoin). */
  readonly #sentBefore = { microphone: 0, camera: {} as Record<string, number> };
  /** Per camera layer: send a keyframe next (asked by the server, or the layer starts again). */
  #needKey: boolean[] = [];
  /** Dynacast: the highest camera layer the server wants now (the layers above are not sent). */
  #maxLayer = 2;
  #cameraId: string | null = null;
  #stopped = false;
  #rejoining = false;
  /** RTP packets that arrived on no SSRC offered to this site (should stay 0). */
  unknownPackets = 0;
  /** Milliseconds from connecting to being ready (joined, transports up, publishing). */
  joinMs: number | null = null;
  /** Epoch ms when start() was called (the link opened). */
  openedAt: number | null = null;
  /** Epoch ms when the current session became ready. */
  readyAt: number | null = null;
  /** Sessions started: 1, plus one per rejoin. */
  sessions = 0;
  /** Times the server side went away (socket lost, or the session closed by the server). */
  disconnects = 0;
  /** True while there is no session (lost, and not yet back). */
  disconnected = false;

  constructor(
    readonly url: string,
    readonly token: string,
    readonly name: string,
    /**
     * `reconnect`: after losing the server (a restart, a worker death), open a new session on
     * the same link, as the hall's page does, with backoff and jitter.
     */
    readonly opts: {
      publish?: boolean;
      fps?: number;
      reconnect?: boolean;
      /** Called with each session's new socket (to listen to pushes across rejoins). */
      onSocket?: (socket: Socket) => void;
    } = {},
  ) {}

  async start(): Promise<this> {
    this.openedAt = Date.now();
    const t0 = performance.now();
    await this.#session();
    this.joinMs = performance.now() - t0;
    return this;
  }

  async #session(): Promise<void> {
    this.#teardown();
    this.#received.clear();
    const socket = await connect(this.url, this.token);
    this.socket = socket;
    this.opts.onSocket?.(socket);
    let final = false;
    socket.on('session:closed', ({ reason }: { reason: string }) => {
      // Replaced by a newer session, expired or revoked: coming back would be wrong.
      final = ['replaced', 'expired', 'revoked'].includes(reason);
    });
    socket.on('disconnect', (reason) => {
      if (reason === 'io client disconnect' || this.#stopped) return;
      this.disconnects += 1;
      this.disconnected = true;
      if (this.opts.reconnect && !final) void this.#rejoin();
    });
    socket.on('consumer:added', (offer: ConsumerOffer, ack: (r: Ack<null>) => void) => {
      const ssrc = (offer.rtpParameters.encodings as { ssrc: number }[])[0]?.ssrc as number;
      this.#received.set(ssrc, {
        consumerId: offer.id,
        from: offer.principal,
        kind: offer.kind,
        source: offer.source,
        packets: 0,
        bytes: 0,
        checked: 0,
        verified: 0,
        firstAt: null,
        expected: 0,
        maxSeq: 0,
        firstTs: 0,
        lastTs: 0,
        closed: false,
      });
      ack({ ok: true, data: null }); // nothing to prepare: SRTP takes any SSRC
    });
    socket.on(
      'producer:layers',
      ({ producerId, spatialLayer }: { producerId: string; spatialLayer: number }) => {
        if (producerId === this.#cameraId) this.#maxLayer = spatialLayer;
      },
    );
    socket.on('consumer:closed', ({ id }: { id: string }) => {
      for (const r of this.#received.values()) if (r.consumerId === id) r.closed = true;
    });
    try {
      this.join = await request<JoinResult>(socket, 'session:join', {});
      const recv = await openTransport(socket, this.join.recvTransport, 'recv');
      this.#peers.push(recv.pc);
      // Counted from the clear RTP header; one packet in VERIFY_EVERY of each stream is also
      // decrypted and authenticated by werift (./srtp), and counted again as verified.
      interceptRtp(recv.dtls, (ssrc, seq, ts, bytes) => {
        const r = this.#received.get(ssrc);
        if (!r) {
          this.unknownPackets += 1;
          return false;
        }
        if (r.packets === 0) {
          r.firstAt = Date.now();
          r.maxSeq = seq;
          r.expected = 1;
          r.firstTs = ts;
          r.lastTs = ts;
        } else {
          const ahead = (seq - (r.maxSeq % 65536) + 65536) % 65536;
          if (ahead > 0 && ahead < 32768) {
            r.maxSeq += ahead;
            r.expected += ahead;
            r.lastTs = ts;
          }
        }
        r.packets += 1;
        r.bytes += bytes;
        if (r.packets % VERIFY_EVERY !== 1) return false;
        r.checked += 1;
        return true;
      });
      recv.dtls.onRtp.subscribe((rtp: RtpPacket) => {
        const r = this.#received.get(rtp.header.ssrc);
        if (r) r.verified += 1;
      });
      if (this.opts.publish !== false) await this.#publish();
      await request(socket, 'session:ready', {
        rtpCapabilities: receiveCapabilities(this.join.routerRtpCapabilities),
      });
    } catch (e) {
      socket.close();
      throw e;
    }
    this.sessions += 1;
    this.readyAt = Date.now();
    this.disconnected = !socket.connected;
  }

  /** After a loss: new sessions until one works (250 ms doubling to 2 s, ±50 % jitter: a client's pace). */
  async #rejoin(): Promise<void> {
    if (this.#rejoining) return;
    this.#rejoining = true;
    let delay = 250;
    while (!this.#stopped) {
      await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
      if (this.#stopped) break;
      try {
        await this.#session();
        break;
      } catch {
        delay = Math.min(2000, delay * 2);
      }
    }
    this.#rejoining = false;
  }

  /** Ends the current session's media (timers, peer connections), keeping the sent counters. */
  #teardown(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    for (const pc of this.#peers) pc.close().catch(() => undefined);
    this.#peers = [];
    if (this.#audio) this.#sentBefore.microphone += this.#audio.packets;
    for (const v of this.#video) {
      const rid = v.rid ?? '-';
      this.#sentBefore.camera[rid] = (this.#sentBefore.camera[rid] ?? 0) + v.packets;
    }
    this.#audio = undefined;
    this.#video = [];
  }

  /**
   * Epoch ms when the current session first had the programme: a packet of the chair's
   * microphone and of its camera (null until both have come).
   */
  programmeAt(principal = 'chair'): number | null {
    const first = (source: string) =>
      this.received().find((r) => r.from === principal && r.source === source && r.firstAt !== null)
        ?.firstAt ?? null;
    const a = first('microphone');
    const v = first('camera');
    return a !== null && v !== null ? Math.max(a, v) : null;
  }

  async #publish(): Promise<void> {
    const t = await request<TransportOptions>(this.socket, 'transport:create', { direction: 'send' });
    const { pc, dtls } = await openTransport(this.socket, t, 'send');
    this.#peers.push(pc);
    dtls.onRtcp.subscribe((p) => {
      // PLI (payload-specific feedback, fmt 1) or FIR (fmt 4): a keyframe next on that layer.
      const fb = p as { type: number; feedback?: { count?: number; mediaSsrc?: number } };
      if (fb.type !== 206 || (fb.feedback?.count !== 1 && fb.feedback?.count !== 4)) return;
      const i = this.#video.findIndex((v) => v.ssrc === fb.feedback?.mediaSsrc);
      if (i >= 0) this.#needKey[i] = true;
      else this.#needKey.fill(true);
    });
    const micSsrc = randomSsrc();
    const sender = new SrtpSender(dtls);
    this.#audio = new RtpStream(sender, micSsrc, 111, '0', 48000);
    await request(this.socket, 'producer:create', {
      transportId: t.id,
      kind: 'audio',
      source: 'microphone',
      rtpParameters: opusParameters(micSsrc),
    });
    sharedLayers ??= loadLayers();
    const layers = sharedLayers;
    this.#video = layers.map((l) => new RtpStream(sender, randomSsrc(), 96, '1', 90000, l.rid));
    this.#maxLayer = layers.length - 1;
    this.#needKey = layers.map(() => false);
    this.#cameraId = (
      await request<{ id: string }>(this.socket, 'producer:create', {
        transportId: t.id,
        kind: 'video',
        source: 'camera',
        rtpParameters: vp8SimulcastParameters(
          layers.map((l) => l.rid),
          `lg-${this.name}`,
        ),
      })
    ).id;
    const audio = this.#audio;
    // Paced by the clock, not by the timers' count (an interval drifts late, more so on a busy
    // machine): the microphone sends one packet per 20 ms of the clock, a late tick sending what
    // is due, as a capture device's backlog is flushed; the camera sends the next frame at each
    // tick stamped with the time, so a late tick only lowers the frame rate, as an encoder does.
    const t0 = performance.now();
    let audioSent = 0;
    this.#timers.push(
      setInterval(() => {
        const due = Math.floor((performance.now() - t0) / 20) + 1;
        for (; audioSent < due; audioSent += 1) {
          audio.send([OPUS_SILENCE], false);
          audio.advance(960);
        }
      }, 20),
    );
    const fps = this.opts.fps ?? 30;
    // Each layer is its own stream with its own place in its file: a keyframe asked of one layer
    // (or a layer started again) does not disturb the others.
    const frame = layers.map(() => 0);
    const nextKey = (i: number) => {
      const frames = layers[i]?.frames ?? [];
      const next = frames.findIndex((f, j) => j >= (frame[i] as number) % frames.length && f.key);
      frame[i] = next >= 0 ? next : 0;
    };
    let videoTicks = 0;
    this.#timers.push(
      setInterval(() => {
        const ticks = Math.round((performance.now() - t0) * 90); // 90 kHz
        const elapsed = ticks - videoTicks;
        videoTicks = ticks;
        layers.forEach((l, i) => {
          const s = this.#video[i] as RtpStream;
          s.advance(elapsed);
          if (i <= this.#maxLayer) {
            if (this.#needKey[i]) {
              nextKey(i);
              this.#needKey[i] = false;
            }
            s.sendVp8Frame(l.frames[(frame[i] as number) % l.frames.length] as Vp8Frame);
            frame[i] = (frame[i] as number) + 1;
          } else {
            this.#needKey[i] = true; // stopped: it starts again on a keyframe
          }
        });
      }, 1000 / fps),
    );
    this.#timers.push(
      setInterval(() => {
        dtls.sendRtcp([audio, ...this.#video].map((s) => s.senderReport())).catch(() => undefined);
      }, 1000),
    );
  }

  /** The highest camera layer this site sends now (the server's `producer:layers`). */
  get maxLayer(): number {
    return this.#maxLayer;
  }

  /** What this site has received, per consumer. */
  received(): Received[] {
    return [...this.#received.values()];
  }

  /** Packets received from one principal's source ('microphone' or 'camera'). */
  packetsFrom(principal: string, source: 'microphone' | 'camera'): number {
    return this.received()
      .filter((r) => r.from === principal && r.source === source)
      .reduce((n, r) => n + r.packets, 0);
  }

  /** Packets this site has sent (all its sessions): microphone, and each camera layer. */
  sent(): { microphone: number; camera: Record<string, number> } {
    const camera = { ...this.#sentBefore.camera };
    for (const v of this.#video) camera[v.rid ?? '-'] = (camera[v.rid ?? '-'] ?? 0) + v.packets;
    return { microphone: this.#sentBefore.microphone + (this.#audio?.packets ?? 0), camera };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    this.socket?.close();
    await Promise.all(this.#peers.map((pc) => pc.close().catch(() => undefined)));
  }
}
