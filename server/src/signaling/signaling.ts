/**
 * socket.io edge: authenticate the handshake, then for every event
 * rate-limit → validate → check the credential is still valid → apply → ack → broadcast.
 * Identity and rights come from the verified credential only.
 */
import type { types } from 'mediasoup';
import type { Server, Socket } from 'socket.io';
import {
  type Ack,
  type ClientToServerEvents,
  type CloseReason,
  type ConnectErrorData,
  type ConsumerOffer,
  type JoinResult,
  type ServerToClientEvents,
  type SitePresence,
  type TransportOptions,
  CLIENT_EVENTS,
  COMMAND_EVENTS,
  ErrorCode,
  PROTOCOL_VERSION,
} from '../../../protocol/events';
import { type Payload, describeIssues, schemas } from '../../../protocol/schemas';
import { verifyCredential } from '../auth/credentials';
import type { Command } from '../core/commands';
import { CoreError } from '../core/errors';
import { type Actor, MINUTES_READERS } from '../core/model';
import type { Roster } from '../core/roster';
import { createLogger } from '../logger';
import { type ConferenceMedia, MediaRequestError } from '../media/ConferenceMedia';
import type { ConferenceService } from '../service/ConferenceService';
import { type SessionHandle, Sessions } from './Sessions';

const log = createLogger('signaling');
const OFFER_TIMEOUT_MS = 10_000;
const ROOM = 'conference';
const MINUTES_ROOM = 'minutes';

export interface SocketData {
  actor: Actor;
  expiresAt: number;
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

export interface SignalingDeps {
  secret: string;
  roster: Roster;
  service: ConferenceService;
  /** The conference media; replaced after a worker death, so read through a getter. */
  media: () => ConferenceMedia;
  /** Events per second a socket may send, and the burst it may save up. */
  rate: { perSec: number; burst: number };
}

export interface Signaling {
  sessions: Sessions;
  closeAll(reason: CloseReason): void;
}

const KNOWN_EVENTS = new Set<string>(CLIENT_EVENTS);

const CORE_CODES: Record<CoreError['kind'], ErrorCode> = {
  'bad-request': ErrorCode.BadRequest,
  forbidden: ErrorCode.Forbidden,
  'wrong-state': ErrorCode.WrongState,
  'not-found': ErrorCode.NotFound,
};

export function attachSignaling(io: IoServer, deps: SignalingDeps): Signaling {
  const sessions = new Sessions();
  const { service, roster } = deps;

  io.use((socket, next) => {
    const token: unknown = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
    const v = verifyCredential(deps.secret, service.state.id, roster, token, service.now);
    if (!v.ok) {
      const err = new Error(
        v.code === 'AUTH_EXPIRED' ? 'the join link has expired' : 'the join link is not valid',
      ) as Error & {
        data: ConnectErrorData;
      };
      err.data = { code: v.code };
      next(err);
      return;
    }
    socket.data.actor = v.actor;
    socket.data.expiresAt = v.expiresAt;
    socket.data.joined = false;
    next();
  });

  service.on('changed', (state, minutes) => {
    deps.media().reconcile(state);
    io.to(ROOM).emit('conference:state', { state, serverNow: service.now });
    if (minutes.length) io.to(MINUTES_ROOM).emit('minutes:appended', { entries: minutes });
  });

  // A site's presence (connected, camera, microphone, connection quality), sent when it changes.
  const lastPresence = new Map<string, string>();
  const presenceOf = (code: string) =>
    sessions.presence([code], (c) => deps.media().siteMedia(c))[0] as SitePresence;
  const announce = (code: string) => {
    const p = presenceOf(code);
    const key = JSON.stringify(p);
    if (lastPresence.get(code) === key) return;
    lastPresence.set(code, key);
    io.to(ROOM).emit('presence:changed', p);
  };
  deps.media().onSiteMedia = announce;
  const ctx = {
    announce,
    presence: () =>
      sessions.presence(
        roster.sites.map((s) => s.code),
        (c) => deps.media().siteMedia(c),
      ),
  };

  io.on('connection', (socket) => onConnection(socket, deps, sessions, ctx));

  return {
    sessions,
    closeAll(reason) {
      for (const s of sessions.all()) s.close(reason);
    },
  };
}

interface PresenceContext {
  announce(code: string): void;
  presence(): SitePresence[];
}

function onConnection(socket: IoSocket, deps: SignalingDeps, sessions: Sessions, ctx: PresenceContext): void {
  const { actor } = socket.data;
  const { service, roster } = deps;
  const site = roster.sites.find((s) => s.code === actor.siteCode);
  if (!site) {
    socket.disconnect(true);
    return;
  }
  const session: SessionHandle = {
    id: socket.id,
    actor,
    close: (reason) => {
      socket.emit('session:closed', { reason });
      socket.disconnect(true);
    },
  };
  const bucket = { tokens: deps.rate.burst, at: Date.now() };
  const allow = (): boolean => {
    const now = Date.now();
    bucket.tokens = Math.min(deps.rate.burst, bucket.tokens + ((now - bucket.at) / 1000) * deps.rate.perSec);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };

  const handle = <E extends keyof typeof schemas>(
    event: E,
    apply: (payload: Payload<E>) => Promise<unknown> | unknown,
  ): void => {
    (socket as unknown as { on(e: string, fn: (...args: unknown[]) => void): void }).on(event, (...args) => {
      const last = args[args.length - 1];
      const hasAck = typeof last === 'function';
      // A request without an acknowledgement callback is applied all the same; it just gets no reply.
      const reply = hasAck ? (last as (r: Ack<unknown>) => void) : () => undefined;
      const fail = (code: ErrorCode, message: string) => {
        log.debug('refused', { principal: actor.principal, event, code, message });
        reply({ ok: false, error: { code, message } });
      };
      if (!allow()) return fail(ErrorCode.RateLimited, 'too many requests; slow down');
      const parsed = schemas[event].safeParse(hasAck && args.length === 1 ? undefined : args[0]);
      if (!parsed.success) return fail(ErrorCode.BadRequest, describeIssues(parsed.error));
      if (service.now >= socket.data.expiresAt) {
        fail(ErrorCode.AuthExpired, 'the join link has expired');
        socket.disconnect(true);
        return;
      }
      if (event !== 'session:join' && !socket.data.joined)
        return fail(ErrorCode.NotJoined, 'join the session first');
      Promise.resolve()
        .then(() => apply(parsed.data as Payload<E>))
        .then(
          (data) => reply({ ok: true, data: data ?? null }),
          (e: unknown) => {
            const error = toWireError(e, event);
            log.debug('refused', {
              principal: actor.principal,
              event,
              code: error.code,
              message: error.message,
            });
            reply({ ok: false, error });
          },
        );
    });
  };

  socket.onAny((event: string, ...args: unknown[]) => {
    if (KNOWN_EVENTS.has(event)) return;
    const ack = args[args.length - 1];
    if (typeof ack !== 'function') return;
    const code = allow() ? ErrorCode.UnknownEvent : ErrorCode.RateLimited;
    (ack as (r: Ack<never>) => void)({
      ok: false,
      error: {
        code,
        message:
          code === ErrorCode.UnknownEvent
            ? `unknown event "${String(event).slice(0, 64)}"`
            : 'too many requests',
      },
    });
  });

  handle('session:join', async (): Promise<JoinResult> => {
    if (socket.data.joined) throw new WireFailure(ErrorCode.AlreadyJoined, 'already joined');
    socket.data.joined = true;
    const wasConnected = sessions.siteConnected(site.code);
    const replaced = sessions.attach(session);
    if (replaced) {
      log.info('joined again; closing the older session', { principal: actor.principal });
      replaced.close('replaced');
    }
    const media = deps.media();
    media.addPeer({
      id: session.id,
      party: actor,
      site,
      sendOffer: offerSender(socket),
      onConsumerClosed: (id) => socket.emit('consumer:closed', { id }),
    });
    let recv: types.WebRtcTransport;
    try {
      recv = await media.createTransport(session.id, 'recv');
    } catch (e) {
      media.removePeer(session.id);
      sessions.detach(session);
      socket.data.joined = false;
      throw e;
    }
    void socket.join(ROOM);
    if (MINUTES_READERS.includes(actor.role)) void socket.join(MINUTES_ROOM);
    ctx.announce(site.code);
    if (!wasConnected && actor.role === 'site')
      service.observe({ type: 'site:connected', siteCode: site.code });
    log.info('joined', { principal: actor.principal, role: actor.role });
    return {
      protocolVersion: PROTOCOL_VERSION,
      role: actor.role,
      principal: actor.principal,
      site,
      conference: { id: service.state.id, title: service.state.title },
      sites: roster.sites,
      presence: ctx.presence(),
      routerRtpCapabilities: media.rtpCapabilities as unknown as Record<string, unknown>,
      recvTransport: transportOptions(recv),
      state: service.state,
      serverNow: service.now,
    };
  });

  handle('transport:create', async ({ direction }) =>
    transportOptions(await deps.media().createTransport(session.id, direction)),
  );

  handle('transport:connect', async ({ transportId, dtlsParameters }) => {
    await deps.media().connectTransport(session.id, transportId, dtlsParameters);
  });

  handle('producer:create', async ({ transportId, kind, source, rtpParameters }) => {
    const producer = await deps.media().produce(session.id, transportId, kind, source, rtpParameters);
    return { id: producer.id };
  });

  handle('producer:close', ({ producerId }) => {
    deps.media().closeProducer(session.id, producerId);
  });

  handle('session:ready', ({ rtpCapabilities }) => {
    deps.media().setReady(session.id, rtpCapabilities);
  });

  for (const event of COMMAND_EVENTS) {
    handle(event, (payload) => {
      service.execute(actor, { type: event, ...(payload as object) } as Command);
    });
  }

  socket.on('disconnect', (reason) => {
    if (!socket.data.joined) return;
    deps.media().removePeer(session.id);
    if (sessions.detach(session)) {
      ctx.announce(site.code);
      if (!sessions.siteConnected(site.code) && actor.role === 'site') {
        service.observe({ type: 'site:disconnected', siteCode: site.code });
      }
    }
    log.info('left', { principal: actor.principal, reason });
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
  if (e instanceof CoreError) return { code: CORE_CODES[e.kind], message: e.message };
  if (e instanceof MediaRequestError) {
    const code = {
      'not-found': ErrorCode.NotFound,
      forbidden: ErrorCode.Forbidden,
      'bad-request': ErrorCode.BadRequest,
    }[e.kind];
    return { code, message: e.message };
  }
  log.error('handler failed', { event, error: e });
  return { code: ErrorCode.Internal, message: 'internal error' };
}
