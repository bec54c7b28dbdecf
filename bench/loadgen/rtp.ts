/**
 * Pre-encoded media for synthetic halls: VP8 frames read from IVF files (three simulcast layers
 * encoded once with ffmpeg, shipped in ./media), packetised per RFC 7741, and Opus silence; sent
 * as SRTP on the transport werift connected (./srtp), with the RTCP Sender Reports mediasoup needs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RtcpSenderInfo, RtcpSrPacket } from 'werift';
import type { SrtpSender } from './srtp';
import { OPUS_CODEC, VP8_CODEC } from '../../tests/helpers/wsClient';

export const EXT_MID = 1;
const MAX_PAYLOAD = 1100;
export const EXT_RID = 10;
export const URI_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
export const URI_RID = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';

export interface Vp8Frame {
  key: boolean;
  data: Buffer;
}

/**
 * The three layers shipped with the load generator: 4 s of ffmpeg's testsrc2 at 30 fps, a
 * keyframe every 2 s in all three (so a layer switch lands on one), encoded with
 *   ffmpeg -f lavfi -i testsrc2=size=WxH:rate=30 -t 4 -c:v libvpx -b:v B -deadline realtime
 *     -cpu-used 8 -g 60 -keyint_min 60 -auto-alt-ref 0 rN.ivf
 * r0 320×180 at 150 kbit/s, r1 640×360 at 450 kbit/s, r2 1280×720 at 1,200 kbit/s.
 */
export const LAYER_FILES = ['r0', 'r1', 'r2'].map((rid) => ({
  rid,
  file: path.join(__dirname, 'media', `${rid}.ivf`),
}));

/** Reads an IVF file into its VP8 frames. */
export function readIvf(file: string): Vp8Frame[] {
  const buf = fs.readFileSync(file);
  if (buf.toString('ascii', 0, 4) !== 'DKIF') throw new Error(`${file} is not an IVF file`);
  const headerLen = buf.readUInt16LE(6);
  const frames: Vp8Frame[] = [];
  for (let o = headerLen; o + 12 <= buf.length;) {
    const size = buf.readUInt32LE(o);
    const data = buf.subarray(o + 12, o + 12 + size);
    frames.push({ key: ((data[0] ?? 1) & 1) === 0, data });
    o += 12 + size;
  }
  return frames;
}

/** The layer files are found next to the sources, or (compiled into dist/) in the project's bench/loadgen/media. */
export function loadLayers(): { rid: string; frames: Vp8Frame[] }[] {
  return LAYER_FILES.map(({ rid, file }) => {
    const candidates = [
      file,
      path.join(__dirname, '..', '..', '..', 'bench', 'loadgen', 'media', `${rid}.ivf`),
    ];
    const found = candidates.find((f) => fs.existsSync(f));
    if (!found)
      throw new Error(`the load generator's media ${rid}.ivf is missing (${candidates.join(', ')})`);
    return { rid, frames: readIvf(found) };
  });
}

/**
 * RTP packets per second one synthetic hall sends at full rate: its camera's three layers at
 * `fps` (each frame cut at MAX_PAYLOAD bytes) and its microphone (one packet per 20 ms).
 */
export function nominalPacketsPerSecond(layers: { frames: Vp8Frame[] }[], fps = 30): number {
  const perFrame = (f: Vp8Frame) => Math.ceil(f.data.length / MAX_PAYLOAD);
  const video = layers.reduce(
    (n, l) => n + (l.frames.reduce((k, f) => k + perFrame(f), 0) / l.frames.length) * fps,
    0,
  );
  return video + 50;
}

/** A 20 ms Opus frame of silence (CELT, as a browser sends for a quiet room). */
export const OPUS_SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);
export const randomSsrc = (): number => (Math.random() * 0xfffffff0 + 1) >>> 0;

/** An RTP header with one-byte header extensions (RFC 8285), written once per stream. */
export function rtpHeader(
  payloadType: number,
  ssrc: number,
  extensions: { id: number; value: Buffer }[],
): Buffer {
  const extLen = extensions.reduce((n, e) => n + 1 + e.value.length, 0);
  const words = Math.ceil(extLen / 4);
  const h = Buffer.alloc(12 + 4 + words * 4);
  h[0] = 0x90; // version 2, extension bit
  h[1] = payloadType & 0x7f;
  h.writeUInt32BE(ssrc >>> 0, 8);
  h.writeUInt16BE(0xbede, 12);
  h.writeUInt16BE(words, 14);
  let o = 16;
  for (const e of extensions) {
    h[o] = (e.id << 4) | (e.value.length - 1);
    e.value.copy(h, o + 1);
    o += 1 + e.value.length;
  }
  return h;
}

/** One RTP stream (one SSRC) of a producer: sequence, timestamp, counters, and its Sender Report. */
export class RtpStream {
  packets = 0;
  bytes = 0;
  #seq = (Math.random() * 0xffff) | 0;
  #roc = 0;
  #ts = (Math.random() * 0xffffffff) >>> 0;
  #pictureId = (Math.random() * 0x7fff) | 0;
  #tl0 = 0;
  #lastWall = 0;
  /** The header, patched per packet (sequence number, timestamp, marker) before it is protected. */
  readonly #header: Buffer;

  constructor(
    readonly sender: SrtpSender,
    readonly ssrc: number,
    payloadType: number,
    mid: string,
    readonly clockRate: number,
    readonly rid?: string,
  ) {
    const extensions = [{ id: EXT_MID, value: Buffer.from(mid, 'ascii') }];
    if (rid) extensions.push({ id: EXT_RID, value: Buffer.from(rid, 'ascii') });
    this.#header = rtpHeader(payloadType, ssrc, extensions);
  }

  send(payload: readonly Buffer[], marker: boolean): void {
    const h = this.#header;
    h[1] = ((h[1] as number) & 0x7f) | (marker ? 0x80 : 0);
    h.writeUInt16BE(this.#seq, 2);
    h.writeUInt32BE(this.#ts, 4);
    this.sender.send(h, this.#roc, payload);
    this.#seq = (this.#seq + 1) & 0xffff;
    if (this.#seq === 0) this.#roc = (this.#roc + 1) >>> 0;
    this.packets += 1;
    for (const p of payload) this.bytes += p.length;
  }

  /** One VP8 frame as packets with the extended descriptor (15-bit PictureID, TL0PICIDX). */
  sendVp8Frame(frame: Vp8Frame): void {
    const { data } = frame;
    this.#pictureId = (this.#pictureId + 1) & 0x7fff;
    this.#tl0 = (this.#tl0 + 1) & 0xff;
    for (let off = 0, first = true; off < data.length; first = false) {
      const len = Math.min(MAX_PAYLOAD, data.length - off);
      const desc = Buffer.from([
        0x80 | (first ? 0x10 : 0),
        0xc0,
        0x80 | (this.#pictureId >> 8),
        this.#pictureId & 0xff,
        this.#tl0,
      ]);
      off += len;
      this.send([desc, data.subarray(off - len, off)], off >= data.length);
    }
  }

  advance(ticks: number): void {
    this.#ts = (this.#ts + ticks) >>> 0;
    this.#lastWall = performance.now();
  }

  /**
   * The stream's RTCP Sender Report. Needed for simulcast: mediasoup's simulcast consumer moves
   * to another spatial layer only once every layer involved has sent one.
   */
  senderReport(): RtcpSrPacket {
    const nowMs = Date.now();
    const sec = Math.floor(nowMs / 1000) + 2_208_988_800; // NTP epoch 1900
    const frac = Math.floor(((nowMs % 1000) / 1000) * 2 ** 32);
    const elapsed = this.#lastWall ? performance.now() - this.#lastWall : 0;
    return new RtcpSrPacket({
      ssrc: this.ssrc,
      senderInfo: new RtcpSenderInfo({
        ntpTimestamp: (BigInt(sec) << 32n) | BigInt(frac),
        rtpTimestamp: (this.#ts + Math.round((elapsed * this.clockRate) / 1000)) >>> 0,
        packetCount: this.packets >>> 0,
        octetCount: this.bytes >>> 0,
      }),
    });
  }
}

export function opusParameters(ssrc: number): Record<string, unknown> {
  return {
    mid: '0',
    codecs: [{ ...OPUS_CODEC, parameters: { ...OPUS_CODEC.parameters, usedtx: 1 } }],
    headerExtensions: [{ uri: URI_MID, id: EXT_MID, encrypt: false, parameters: {} }],
    encodings: [{ ssrc, dtx: false }],
    rtcp: { cname: `lg${ssrc}`, reducedSize: true },
  };
}

/** VP8 with rid-based simulcast: no SSRC announced, mediasoup learns them from the mid and rid extensions. */
export function vp8SimulcastParameters(rids: string[], cname: string): Record<string, unknown> {
  return {
    mid: '1',
    // Receiver-side bandwidth estimation as Chromium offers it, on top of the usual feedback.
    codecs: [{ ...VP8_CODEC, rtcpFeedback: [...VP8_CODEC.rtcpFeedback, { type: 'goog-remb' }] }],
    headerExtensions: [
      { uri: URI_MID, id: EXT_MID, encrypt: false, parameters: {} },
      { uri: URI_RID, id: EXT_RID, encrypt: false, parameters: {} },
    ],
    encodings: rids.map((rid, i) => ({
      rid,
      scaleResolutionDownBy: 2 ** (rids.length - 1 - i),
      scalabilityMode: 'L1T1',
    })),
    rtcp: { cname, reducedSize: true },
  };
}
