/**
 * The reference for the join benchmark: a bare receive-only page with mediasoup-client and
 * socket.io-client and nothing else (no UI, no strings, no controller, no publishing).
 * It speaks the same protocol to the same server, so the difference to the site page is
 * what the product adds on the client side.
 */
import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import { io } from 'socket.io-client';

type AckRes = { ok: boolean; data: never };
const params = new URLSearchParams(location.hash.slice(1));
const socket = io(params.get('server') as string, {
  auth: { token: params.get('t') },
  transports: ['websocket'],
});
let recv: types.Transport | undefined;

socket.on('consumer:added', async (offer: types.ConsumerOptions, ack: (r: unknown) => void) => {
  const consumer = await (recv as types.Transport).consume(offer);
  ack({ ok: true, data: null });
  if (consumer.kind === 'video') performance.mark('hoinghi:consumer-video');
  if (consumer.kind !== 'video') return;
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.addEventListener('loadeddata', () => performance.mark('hoinghi:first-remote-frame'), { once: true });
  video.srcObject = new MediaStream([consumer.track]);
  document.body.append(video);
});

performance.mark('hoinghi:script');
socket.on('connect', async () => {
  performance.mark('hoinghi:connected');
  const join = ((await socket.emitWithAck('session:join', {})) as AckRes).data as {
    routerRtpCapabilities: types.RtpCapabilities;
    recvTransport: types.TransportOptions;
  };
  performance.mark('hoinghi:joined');
  const device = new Device();
  await device.load({ routerRtpCapabilities: join.routerRtpCapabilities });
  performance.mark('hoinghi:device-loaded');
  const transport = device.createRecvTransport(join.recvTransport);
  transport.on('connect', ({ dtlsParameters }, cb, eb) => {
    socket
      .emitWithAck('transport:connect', { transportId: transport.id, dtlsParameters })
      .then(() => cb(), eb);
  });
  recv = transport;
  await socket.emitWithAck('session:ready', { rtpCapabilities: device.rtpCapabilities });
});
