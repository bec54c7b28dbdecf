/**
 * socket.io edge: authenticate the handshake, validate every payload, turn events into
 * conference/media calls, acknowledge, broadcast. Handlers follow
 * validate → apply → ack → broadcast, and every failure is acked with an error code.
 */
import type { types } from 'mediasoup';
import type { Server, Socket } from 'socket.io';
import {
  type Ack,
  type ClientEventName,
  type ClientToServerEvents,
  type ConnectErrorData,
  type ConsumerOffer,
  type JoinResult,
  type ServerToClientEvents,
  type TransportOptions,
  CLIENT_EVENTS,
  ErrorCode,
  PROTOCOL_VERSION,
} from '../../../protocol/events';
import { type Payload, describeIssues, schemas } from '../../../protocol/schemas';
import { type Credential, verifyToken } from '../auth/tokens';
import { createLogger } from '../logger';
import { MediaRequestError } from '../media/ConferenceMedia';
import type { Conference, SessionHandle } from './Conference';

const log = createLogger('signaling');
const OFFER_TIMEOUT_MS = 10_000;

export interface SocketData {
  cred: Credential;
  joined: boolean;
}
export type IoServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type IoSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export class WireFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const KNOWN_EVENTS = new Set<string>(CLIENT_EVENTS);
const ROOM = 'conference';

export function attachSignaling(io: IoServer, conference: Conference, secret: string): void {
  io.use((socket, next) => {
    const token: unknown = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
    const fail = (code: ErrorCode, message: string) => {
      const err = new Error(message) as Error & { data: ConnectErrorData };
      err.data = { code };
      next(err);
    };
    if (token === undefined || token === '') return fail(ErrorCode.AuthRequired, 'a join token is required');
    const cred = verifyToken(secret, conference.id, token);
    if (!cred || !conference.site(cred.siteCode))
      return fail(ErrorCode.AuthInvalid, 'the join token is not valid');
    // The chair sits at the central bridge; provincial sites join as sites.
    if ((cred.role === 'chair') !== (cred.siteCode === conference.roster.central.code)) {
      return fail(ErrorCode.AuthInvalid, 'the join token is not valid');
    }
    socket.data.cred = cred;
    socket.data.joined = false;
    next();
  });

  io.on('connection', (socket) => onConnection(io, socket, conference));
}

function onConnection(io: IoServer, socket: IoSocket, conference: Conference): void {
  const cred = socket.data.cred;
  const site = conference.site(cred.siteCode);
  if (!site) {
    socket.disconnect(true);
    return;
  }
  const session: SessionHandle = {
    id: socket.id,
    cred,
    site,
    close: (reason) => {
      socket.emit('session:closed', { reason });
      socket.disconnect(true);
    },
  };

  const handle = <E extends ClientEventName>(
    event: E,
    apply: (payload: Payload<E>) => Promise<unknown> | unknown,
  ): void => {
    (socket as unknown as { on(e: string, fn: (...args: unknown[]) => void): void }).on(event, (...args) => {
      const last = args[args.length - 1];
      const hasAck = typeof last === 'function';
      // A request without an acknowledgement callback is applied all the same; it just gets no reply.
      const reply = hasAck ? (last as (r: Ack<unknown>) => void) : () => undefined;
      const parsed = schemas[event].safeParse(hasAck && args.length === 1 ? undefined : args[0]);
      if (!parsed.success) {
        reply({ ok: false, error: { code: ErrorCode.BadRequest, message: describeIssues(parsed.error) } });
        return;
      }
      if (event !== 'session:join' && !socket.data.joined) {
        reply({ ok: false, error: { code: ErrorCode.NotJoined, message: 'join the session first' } });
        return;
      }
      Promise.resolve()
        .then(() => apply(parsed.data as Payload<E>))
        .then(
          (data) => reply({ ok: true, data: data ?? null }),
          (e: unknown) => reply({ ok: false, error: toWireError(e, event) }),
        );
    });
  };

  socket.onAny((event: string, ...args: unknown[]) => {
    if (KNOWN_EVENTS.has(event)) return;
    const ack = args[args.length - 1];
    if (typeof ack === 'function') {
      (ack as (r: Ack<never>) => void)({
        ok: false,
        error: { code: ErrorCode.UnknownEvent, message: `unknown event "${String(event).slice(0, 64)}"` },
      });
    }
  });

  handle('session:join', async (): Promise<JoinResult> => {
    if (socket.data.joined) throw new WireFailure(ErrorCode.AlreadyJoined, 'already joined');
    socket.data.joined = true;
    const replaced = conference.attach(session);
    if (replaced) {
      log.info('site joined again; closing the older session', { site: site.code });
      replaced.close('replaced');
    }
    conference.media.addPeer(session.id, site, cred.role, offerSender(socket), (id) =>
      socket.emit('consumer:closed', { id }),
    );
    let recv: types.WebRtcTransport;
    try {
      recv = await conference.media.createTransport(session.id, 'recv');
    } catch (e) {
      conference.media.removePeer(session.id);
      conference.detach(session);
      socket.data.joined = false;
      throw e;
    }
    void socket.join(ROOM);
    socket.to(ROOM).emit('presence:changed', { code: site.code, connected: true });
    log.info('joined', { site: site.code, role: cred.role });
    return {
      protocolVersion: PROTOCOL_VERSION,
      role: cred.role,
      site,
      conference: { id: conference.id, title: conference.title },
      sites: conference.roster.sites,
      presence: conference.presence(),
      routerRtpCapabilities: conference.media.rtpCapabilities as unknown as Record<string, unknown>,
      recvTransport: transportOptions(recv),
    };
  });

  handle('transport:create', async ({ direction }) =>
    transportOptions(await conference.media.createTransport(session.id, direction)),
  );

  handle('transport:connect', async ({ transportId, dtlsParameters }) => {
    await conference.media.connectTransport(session.id, transportId, dtlsParameters);
  });

  handle('producer:create', async ({ transportId, kind, source, rtpParameters }) => {
    const producer = await conference.media.produce(session.id, transportId, kind, source, rtpParameters);
    return { id: producer.id };
  });

  handle('session:ready', async ({ rtpCapabilities }) => {
    await conference.media.setReady(session.id, rtpCapabilities);
  });

  socket.on('disconnect', (reason) => {
    if (!socket.data.joined) return;
    conference.media.removePeer(session.id);
    if (conference.detach(session)) {
      io.to(ROOM).emit('presence:changed', { code: site.code, connected: false });
    }
    log.info('left', { site: site.code, reason });
  });
}

function transportOptions(t: types.WebRtcTransport): TransportOptions {
  return {
    id: t.id,
    iceParameters: t.iceParameters as unknown as Record<string, unknown>,
    iceCandidates: t.iceCandidates as unknown as Record<string, unknown>[],
    dtlsParameters: t.dtlsParameters as unknown as Record<string, unknown>,
  };
}

function offerSender(socket: IoSocket) {
  return async (offer: ConsumerOffer): Promise<void> => {
    const res = (await socket.timeout(OFFER_TIMEOUT_MS).emitWithAck('consumer:added', offer)) as Ack<null>;
    if (!res || res.ok !== true) throw new Error('client refused the consumer');
  };
}

function toWireError(e: unknown, event: string): { code: ErrorCode; message: string } {
  if (e instanceof WireFailure) return { code: e.code, message: e.message };
  if (e instanceof MediaRequestError) {
    return { code: e.kind === 'not-found' ? ErrorCode.NotFound : ErrorCode.BadRequest, message: e.message };
  }
  log.error('handler failed', { event, error: e });
  return { code: ErrorCode.Internal, message: 'internal error' };
}
