/**
 * The load generator's own SRTP writer (bench/loadgen/srtp.ts) against werift's SRTP: every packet
 * it protects, in both profiles werift offers, decrypts and authenticates on the receiving side to
 * the same header and payload, across a sequence-number wrap (the rollover counter); a packet with
 * one bit changed is refused. The header writer puts MID and RID where a parser finds them.
 */
import crypto from 'node:crypto';
import { RtpPacket, SrtpSession } from 'werift';
import { EXT_MID, EXT_RID, rtpHeader } from '../../bench/loadgen/rtp';
import { type SrtpContextLike, isRtpPacket, protectRtp } from '../../bench/loadgen/srtp';

const PROFILES = [
  { name: 'AEAD_AES_128_GCM', profile: 0x0007, saltLength: 12 },
  { name: 'AES_CM_128_HMAC_SHA1_80', profile: 0x0001, saltLength: 14 },
];

function sessions(profile: number, saltLength: number) {
  const a = { key: crypto.randomBytes(16), salt: crypto.randomBytes(saltLength) };
  const b = { key: crypto.randomBytes(16), salt: crypto.randomBytes(saltLength) };
  const session = (local: typeof a, remote: typeof a) =>
    new SrtpSession({
      keys: {
        localMasterKey: local.key,
        localMasterSalt: local.salt,
        remoteMasterKey: remote.key,
        remoteMasterSalt: remote.salt,
      },
      profile: profile as 1 | 7,
    });
  return { sender: session(a, b), receiver: session(b, a) };
}

describe.each(PROFILES)('$name', ({ profile, saltLength }) => {
  test('packets written by the load generator decrypt in werift, across a sequence-number wrap', () => {
    const { sender, receiver } = sessions(profile, saltLength);
    const context = sender.localContext as unknown as SrtpContextLike;
    const header = rtpHeader(96, 0x12345678, [
      { id: EXT_MID, value: Buffer.from('1') },
      { id: EXT_RID, value: Buffer.from('r2') },
    ]);
    let seq = 65530;
    let roc = 0;
    for (let i = 0; i < 12; i++) {
      const payload = [crypto.randomBytes(5), crypto.randomBytes(200 + i)];
      header.writeUInt16BE(seq, 2);
      header.writeUInt32BE(1000 * i, 4);
      const packet = protectRtp(context, header, roc, payload);
      expect(isRtpPacket(packet)).toBe(true);
      const rtp = RtpPacket.deSerialize(receiver.decrypt(packet));
      expect(rtp.header.ssrc).toBe(0x12345678);
      expect(rtp.header.sequenceNumber).toBe(seq);
      expect(rtp.header.timestamp).toBe(1000 * i);
      expect(rtp.header.extensions.map((e) => [e.id, e.payload.toString()])).toEqual([
        [EXT_MID, '1'],
        [EXT_RID, 'r2'],
      ]);
      expect(rtp.payload.equals(Buffer.concat(payload))).toBe(true);
      seq = (seq + 1) & 0xffff;
      if (seq === 0) roc += 1;
    }
    expect(roc).toBe(1);
  });

  test('a packet with one bit changed is refused', () => {
    const { sender, receiver } = sessions(profile, saltLength);
    const header = rtpHeader(111, 42, [{ id: EXT_MID, value: Buffer.from('0') }]);
    header.writeUInt16BE(7, 2);
    const packet = protectRtp(sender.localContext as unknown as SrtpContextLike, header, 0, [
      Buffer.from([0xf8, 0xff, 0xfe]),
    ]);
    const forged = Buffer.from(packet);
    forged[forged.length - 12] = (forged[forged.length - 12] as number) ^ 1;
    expect(() => receiver.decrypt(forged)).toThrow();
  });
});

test('RTCP on the muxed port is not taken for RTP', () => {
  expect(isRtpPacket(Buffer.from([0x80, 200, 0, 6]))).toBe(false); // Sender Report
  expect(isRtpPacket(Buffer.from([0x81, 206, 0, 2]))).toBe(false); // PLI
  expect(isRtpPacket(Buffer.from([0x90, 96, 0, 1]))).toBe(true);
  expect(isRtpPacket(Buffer.from([0x90, 0xe0, 0, 1]))).toBe(true); // marker + payload type 96
});
