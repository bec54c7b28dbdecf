/**
 * The statement recorder's relay: it holds a stream until ffmpeg listens and until the SFU's
 * first Sender Report, then hands over a report dated at the statement's start first, the held
 * packets in order, then the real report; afterwards everything goes straight through.
 */
import dgram from 'node:dgram';
import { RtpRelay, senderReportAt } from '../../server/src/recording/ffmpeg';
import { waitFor } from '../helpers/waitFor';

const SSRC = 0x11223344;

function rtp(seq: number, ts: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt8(0x80, 0);
  b.writeUInt8(96, 1);
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts, 4);
  b.writeUInt32BE(SSRC, 8);
  return b;
}

/** A Sender Report as mediasoup writes it: NTP from its clock in ms, and the RTP time then. */
function senderReport(ms: number, ts: number): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt8(0x80, 0);
  b.writeUInt8(200, 1);
  b.writeUInt16BE(6, 2);
  b.writeUInt32BE(SSRC, 4);
  b.writeUInt32BE(Math.floor(ms / 1000), 8);
  b.writeUInt32BE(Math.floor(((ms % 1000) / 1000) * 2 ** 32), 12);
  b.writeUInt32BE(ts, 16);
  return b;
}

describe('senderReportAt', () => {
  it('dates the same stream at another moment on its clock', () => {
    // 90 kHz video: 1.5 s before the real report is 135,000 ticks earlier.
    const real = senderReport(5_000_250, 1_000_000);
    const sr = senderReportAt(real, 4_998_750, 90_000);
    expect(sr.readUInt8(1)).toBe(200);
    expect(sr.readUInt32BE(4)).toBe(SSRC);
    expect(sr.readUInt32BE(8)).toBe(4998);
    expect(Math.round((sr.readUInt32BE(12) / 2 ** 32) * 1000)).toBe(750);
    expect(sr.readUInt32BE(16)).toBe(1_000_000 - 135_000);
  });

  it('wraps the RTP time below zero', () => {
    const sr = senderReportAt(senderReport(10_000, 100), 9_000, 48_000);
    expect(sr.readUInt32BE(16)).toBe(2 ** 32 - 48_000 + 100);
  });
});

describe('RtpRelay', () => {
  let receiver: dgram.Socket;
  let got: Buffer[];
  let sender: dgram.Socket;
  let relay: RtpRelay;

  beforeEach(async () => {
    got = [];
    receiver = dgram.createSocket('udp4');
    receiver.on('message', (m) => got.push(m));
    await new Promise<void>((r) => receiver.bind(0, '127.0.0.1', () => r()));
    sender = dgram.createSocket('udp4');
    relay = await RtpRelay.open();
  });

  afterEach(() => {
    relay.close();
    receiver.close();
    sender.close();
  });

  const send = (b: Buffer) => new Promise<void>((r) => sender.send(b, relay.port, '127.0.0.1', () => r()));

  it('hands the held packets over after a report dated at the start, then goes straight through', async () => {
    relay.timing = { startMs: 1_000_000, clockRate: 90_000 };
    for (let i = 0; i < 5; i++) await send(rtp(i, 90_000 + i * 3000));
    relay.forwardTo(receiver.address().port);
    // Listening, but no report yet: nothing goes.
    await send(rtp(5, 105_000));
    await new Promise((r) => setImmediate(r));
    expect(got).toHaveLength(0);
    const real = senderReport(1_000_500, 135_000);
    await send(real);
    await waitFor('the held packets', () => got.length >= 8 || undefined);
    const first = got[0] as Buffer;
    expect(first.readUInt8(1)).toBe(200);
    expect(first.readUInt32BE(8)).toBe(1000);
    // 500 ms before the real report at 90 kHz.
    expect(first.readUInt32BE(16)).toBe(135_000 - 45_000);
    expect(got.slice(1, 7).map((b) => b.readUInt16BE(2))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(got[7]?.equals(real)).toBe(true);
    await send(rtp(6, 108_000));
    await waitFor('a packet straight through', () => got.length === 9 || undefined);
    expect(got[8]?.readUInt16BE(2)).toBe(6);
  });

  it('hands over without a report when none comes in time', async () => {
    relay.timing = { startMs: 0, clockRate: 48_000 };
    relay.forwardTo(receiver.address().port);
    for (let i = 0; i < 3; i++) await send(rtp(i, i * 960));
    await waitFor('the packets after the wait', () => got.length === 3 || undefined, { timeoutMs: 6000 });
    expect(got.map((b) => b.readUInt16BE(2))).toEqual([0, 1, 2]);
  });
});
