/** A socket.io client speaking the protocol from Node, for integration tests. */
import { io, type Socket } from 'socket.io-client';
import type { Ack, ConnectErrorData } from '../../protocol/events';

export type TestSocket = Socket;

export function connect(url: string, token?: string): Promise<TestSocket> {
  const socket = io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(token === undefined ? {} : { auth: { token } }),
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err: Error & { data?: ConnectErrorData }) => {
      socket.close();
      reject(Object.assign(new Error(err.message), { code: err.data?.code }));
    });
  });
}

export async function request<T = unknown>(
  socket: TestSocket,
  event: string,
  payload?: unknown,
  timeoutMs = 5000,
): Promise<Ack<T>> {
  return (await socket.timeout(timeoutMs).emitWithAck(event, payload)) as Ack<T>;
}

export async function ok<T = unknown>(
  socket: TestSocket,
  event: string,
  payload?: unknown,
  timeoutMs = 5000,
): Promise<T> {
  const res = await request<T>(socket, event, payload, timeoutMs);
  if (!res.ok) throw new Error(`${event} failed: ${res.error.code} ${res.error.message}`);
  return res.data;
}

export const FAKE_DTLS = {
  role: 'client',
  fingerprints: [
    {
      algorithm: 'sha-256',
      value:
        '82:5A:68:3D:36:C3:0A:DE:AF:E7:32:43:D2:88:83:57:C2:C1:9B:05:7D:EE:34:C5:52:71:E4:6D:49:10:04:A2',
    },
  ],
};

/** The Opus and VP8 codec entries of a producer's RTP parameters (the load generator's too). */
export const OPUS_CODEC = {
  mimeType: 'audio/opus',
  payloadType: 111,
  clockRate: 48000,
  channels: 2,
  parameters: { useinbandfec: 1 },
  rtcpFeedback: [] as { type: string; parameter?: string }[],
};

export const VP8_CODEC = {
  mimeType: 'video/VP8',
  payloadType: 96,
  clockRate: 90000,
  parameters: {},
  rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }] as {
    type: string;
    parameter?: string;
  }[],
};

export function opusParameters(ssrc: number) {
  return {
    mid: '0',
    codecs: [OPUS_CODEC],
    headerExtensions: [],
    encodings: [{ ssrc }],
    rtcp: { cname: `c${ssrc}`, reducedSize: true },
  };
}

export function vp8Parameters(ssrc: number) {
  return {
    mid: '1',
    codecs: [VP8_CODEC],
    headerExtensions: [],
    encodings: [{ ssrc }],
    rtcp: { cname: `c${ssrc}`, reducedSize: true },
  };
}
