/**
 * The synthetic hall's RTP path once werift has done ICE and DTLS: SRTP written and read here,
 * straight on the UDP socket of the pair ICE nominated, with the keys the DTLS handshake gave.
 *
 * Why: werift protects each packet through general-purpose objects (an RTP header class written
 * bit by bit, a parse of every packet received, a STUN parse attempt first), about 60 µs of CPU
 * per packet sent or received: 63 halls took more than a core of this 2-core machine, which then
 * starved the server under test. Here a stream's header is built once and patched per packet, and
 * received RTP is counted from its header (SRTP leaves the RTP header in clear) with one packet in
 * VERIFY_EVERY of each stream still decrypted and authenticated through werift's own SRTP, so a
 * broken key or a forged stream shows as failures in the results, not as silence.
 *
 * Both SRTP profiles werift offers are written: AEAD_AES_128_GCM (RFC 7714, what mediasoup picks)
 * and AES_CM_128_HMAC_SHA1_80 (RFC 3711).
 */
import crypto from 'node:crypto';
import type dgram from 'node:dgram';
import type { RTCDtlsTransport } from 'werift';

const PROFILE_AES_CM_HMAC_SHA1_80 = 0x0001;
const PROFILE_AEAD_AES_128_GCM = 0x0007;

/** One packet in this many of each received stream is decrypted and authenticated. */
export const VERIFY_EVERY = 16;

/** What the lean path needs of werift's internals (not in its typings). */
export interface SrtpContextLike {
  profile: number;
  srtpSessionKey: Buffer;
  srtpSessionSalt: Buffer;
  srtpSessionAuthTag: Buffer;
}
interface UdpTransportLike {
  socket: dgram.Socket;
  onData: (data: Buffer, addr: [string, number]) => void;
}
interface WeriftInternals {
  srtp: { localContext: SrtpContextLike };
  iceTransport: {
    connection: {
      nominated?: { protocol: { transport?: UdpTransportLike }; remoteAddr: [string, number] };
    };
  };
}

function internals(dtls: RTCDtlsTransport): {
  context: SrtpContextLike;
  transport: UdpTransportLike;
  remote: [string, number];
} {
  const w = dtls as unknown as WeriftInternals;
  const pair = w.iceTransport.connection.nominated;
  const transport = pair?.protocol.transport;
  if (!pair || !transport?.socket) throw new Error('no nominated ICE pair with a UDP socket');
  const context = w.srtp?.localContext;
  if (!context) throw new Error('no SRTP session: DTLS is not connected');
  return { context, transport, remote: pair.remoteAddr };
}

/** Protects RTP packets of any SSRC with the transport's outgoing SRTP keys and sends them. */
export class SrtpSender {
  readonly #context: SrtpContextLike;
  readonly #socket: dgram.Socket;
  readonly #address: string;
  readonly #port: number;
  bytesSent = 0;

  constructor(dtls: RTCDtlsTransport) {
    const { context, transport, remote } = internals(dtls);
    if (context.profile !== PROFILE_AEAD_AES_128_GCM && context.profile !== PROFILE_AES_CM_HMAC_SHA1_80)
      throw new Error(`SRTP profile ${context.profile} is not written by the load generator`);
    this.#context = context;
    this.#socket = transport.socket;
    [this.#address, this.#port] = remote;
  }

  /**
   * `header`: the packet's RTP header with its SSRC, sequence number, timestamp and marker set
   * (the caller patches one buffer per stream); `payload`: its parts, in order.
   */
  send(header: Buffer, roc: number, payload: readonly Buffer[]): void {
    const packet = protectRtp(this.#context, header, roc, payload);
    this.bytesSent += packet.length;
    this.#socket.send(packet, this.#port, this.#address);
  }
}

/**
 * One SRTP packet from an RTP header (SSRC, sequence number set) and its payload parts, under
 * `c`'s session keys, at rollover count `roc`.
 */
export function protectRtp(
  c: SrtpContextLike,
  header: Buffer,
  roc: number,
  payload: readonly Buffer[],
): Buffer {
  const iv = Buffer.alloc(16);
  // Both profiles: SSRC, ROC and sequence number at their RFC offsets, XORed with the salt.
  header.copy(iv, 2, 8, 12); // SSRC
  iv.writeUInt32BE(roc >>> 0, 6);
  header.copy(iv, 10, 2, 4); // sequence number
  if (c.profile === PROFILE_AEAD_AES_128_GCM) {
    // RFC 7714 §8.1: 12-byte IV = (00 00 || SSRC || ROC || SEQ) XOR salt; AAD = the header.
    const nonce = iv.subarray(0, 12);
    for (let i = 0; i < 12; i++) nonce[i] = (nonce[i] as number) ^ (c.srtpSessionSalt[i] as number);
    const cipher = crypto.createCipheriv('aes-128-gcm', c.srtpSessionKey, nonce);
    cipher.setAAD(header);
    const parts = [header];
    for (const p of payload) parts.push(cipher.update(p));
    cipher.final();
    parts.push(cipher.getAuthTag());
    return Buffer.concat(parts);
  }
  // RFC 3711 §4.1.1: 16-byte counter = (SSRC at 4, ROC at 8, SEQ at 12) << 16 XOR salt.
  const counter = Buffer.alloc(16);
  iv.copy(counter, 2, 0, 12);
  for (let i = 0; i < 14; i++) counter[i] = (counter[i] as number) ^ (c.srtpSessionSalt[i] as number);
  const cipher = crypto.createCipheriv('aes-128-ctr', c.srtpSessionKey, counter);
  const parts = [header];
  for (const p of payload) parts.push(cipher.update(p));
  const body = Buffer.concat(parts);
  const rocBytes = Buffer.alloc(4);
  rocBytes.writeUInt32BE(roc >>> 0);
  const tag = crypto
    .createHmac('sha1', c.srtpSessionAuthTag)
    .update(body)
    .update(rocBytes)
    .digest()
    .subarray(0, 10);
  return Buffer.concat([body, tag]);
}

/** True for an RTP (not RTCP) packet, by RFC 5761's rule for a muxed port. */
export function isRtpPacket(data: Buffer): boolean {
  const b0 = data[0] ?? 0;
  const pt = data[1] ?? 0;
  return b0 >= 128 && b0 < 192 && (pt < 192 || pt > 223);
}

/**
 * Puts `onRtp(ssrc, seq, timestamp, bytes)` in front of werift for the RTP arriving on a connected
 * transport; it returns true when werift should also decrypt and authenticate that packet
 * (werift then fires its own onRtp). Everything else (RTCP, STUN, DTLS) goes to werift as before.
 */
export function interceptRtp(
  dtls: RTCDtlsTransport,
  onRtp: (ssrc: number, seq: number, timestamp: number, bytes: number) => boolean,
): void {
  const { transport } = internals(dtls);
  const werift = transport.onData;
  transport.onData = (data, addr) => {
    if (data.length >= 12 && isRtpPacket(data)) {
      if (!onRtp(data.readUInt32BE(8), data.readUInt16BE(2), data.readUInt32BE(4), data.length)) return;
    }
    werift(data, addr);
  };
}
