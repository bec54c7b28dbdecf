/**
 * socket.io edge: authenticate the handshake (shape, credential, revocation, per-credential
 * connection caps), then for every event
 * rate-limit (per credential) → bound the shape → validate → check the credential is still valid →
 * apply → ack → broadcast.
 * Identity and rights come from the verified credential only. Nothing a client sends can throw
 * out of a handler: every path ends in an answer (BAD_REQUEST, INTERNAL, …), never in socket.io's
 * callback with an exception.
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
import { AUTH_LIMITS, PAYLOAD_LIMITS, checkShape } from '../../../protocol/shape';
import type { CredentialRegistry } from '../auth/CredentialRegistry';
import type { Verified } from '../auth/credentials';
import type { Command } from '../core/commands';
import { CoreError } from '../core/errors';
import { type Actor, MINUTES_READERS } from '../core/model';
import type { Roster } from '../core/roster';
import { createLogger } from '../logger';
import { type ConferenceMedia, MediaRequestError } from '../media/ConferenceMedia';
import type { Config } from '../config/config';
import { HealthMonitor, type HealthSummaryStore } from '../health/HealthMonitor';
import type { Metrics } from '../metrics/metrics';
import type { Recordings } from '../recording/Recordings';
import type { ConferenceService } from '../service/ConferenceService';
import { type CredentialLimits, CredentialLimiter, TokenBucket } from './limits';
import { type SessionHandle, Sessions } from './Sessions';

const log = createLogger('signaling');
const OFFER_TIMEOUT_MS = 10_000;
const ROOM = 'conference';
const MINUTES_ROOM = 'minutes';

export interface SocketData {
  actor: Actor;
  expiresAt: number;
  /** The generation of the link this socket came in with. */
  generation: number;
  joined: boolean;
  /** Liveness of a joined session: when anything last came from it, and whether it is lost. */
  live?: { lastSeen: number; session: SessionHandle; onLost(silentMs: number): void };
  /** Why the server closed it, when it did. */
  closeReason?: CloseReason;
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
  /** Verifies a credential: signature, expiry, conference, roster, generation. */
  verify: (token: unknown) => Verified;
  credentials: CredentialRegistry;
  roster: Roster;
  service: ConferenceService;
  /** The conference media. */
  media: () => ConferenceMedia;
  /** Per-credential limits: events, sockets, connections, floor-request cooldown. */
  limits: CredentialLimits;
  /**
   * Prometheus metrics. Joins, drops, answers and their errors are already counted at the
   * socket.io edge (metrics/socketMetrics.ts): count here only what that cannot see.
   */
  metrics?: Metrics;
  /** Health sampling and liveness (config `health`), and where its minute summaries are kept. */
  health: Config['health'];
  healthStore?: HealthSummaryStore;
  /** Tests: the candidates a principal is given, rewritten (a fault relay in between). */
  iceCandidates?: IceCandidateRewrite;
  /** The recordings: their status is pushed to the chair, co-chair and operators. */
  recordings?: Recordings;
}

export type IceCandidateRewrite = (
  principal: string,
  candidates: Record<string, unknown>[],
) => Promise<Record<string, unknown>[]>;

export interface Signaling {
  sessions: Sessions;
  health: HealthMonitor;
  closeAll(reason: CloseReason): void;
  /**
   * A hall's RTP ingest opened or closed: while open it makes the site present (connected) as a
   * session does, without a socket; closing it is the site leaving unless a session remains.
   */
  setIngest(siteCode: string, open: boolean): void;
}

const KNOWN_EVENTS = new Set<string>(CLIENT_EVENTS);
/** A site whose media the server restarted for silence is not restarted again sooner. */
const MEDIA_RESTART_COOLDOWN_MS = 30_000;

const CORE_CODES: Record<CoreError['kind'], ErrorCode> = {
  'bad-request': ErrorCode.BadRequest,
  forbidden: ErrorCode.Forbidden,
  'wrong-state': ErrorCode.WrongState,
  'not-found': ErrorCode.NotFound,
};

export function attachSignaling(io: IoServer, deps: SignalingDeps): Signaling {
  const sessions = new Sessions();
  const { service, roster } = deps;

  const limiter = new CredentialLimiter(deps.limits);
  // Sockets past the handshake check but not yet connected (socket.io connects them on the next
  // tick): several CONNECT packets in one read must not all slip under the cap.
  const admitting = new Map<string, number>();
  const openSockets = (principal: string) => {
    let n = admitting.get(principal) ?? 0;
    for (const sk of io.of('/').sockets.values()) if (sk.data.actor?.principal === principal) n += 1;
    return n;
  };

  io.use((socket, next) => {
    const refuse = (code: ErrorCode, message: string, retryAfterMs?: number) => {
      const err = new Error(message) as Error & { data: ConnectErrorData };
      err.data = retryAfterMs === undefined ? { code } : { code, retryAfterMs };
      next(err);
      // One handshake per connection: once the refusal is written, close it, so that a client
      // cannot try CONNECT after CONNECT on one connection (socket.io's client closes it anyway).
      setImmediate(() => socket.conn.close());
    };
    try {
      const auth: unknown = socket.handshake.auth;
      const shape = checkShape(auth, AUTH_LIMITS);
      if (!shape.ok) return refuse(ErrorCode.AuthInvalid, `the handshake is not valid: ${shape.message}`);
      const token =
        typeof auth === 'object' && auth !== null ? (auth as { token?: unknown }).token : undefined;
      const v = deps.verify(token);
      if (!v.ok) {
        const message = {
          AUTH_EXPIRED: 'the join link has expired',
          AUTH_REVOKED: 'the join link was replaced by a new one',
          AUTH_REQUIRED: 'a join link is required',
          AUTH_INVALID_TOKEN: 'the join link is not valid',
        }[v.code];
        return refuse(v.code, message);
      }
      const principal = v.actor.principal;
      const admitted = limiter.admit(principal, openSockets(principal));
      if (!admitted.ok) {
        if (limiter.logRefusal(principal))
          log.warn('connection refused', { principal, why: admitted.message });
        return refuse(ErrorCode.RateLimited, admitted.message, admitted.retryAfterMs);
      }
      admitting.set(principal, (admitting.get(principal) ?? 0) + 1);
      setImmediate(() => {
        const n = (admitting.get(principal) ?? 1) - 1;
        if (n > 0) admitting.set(principal, n);
        else admitting.delete(principal);
      });
      socket.data.actor = v.actor;
      socket.data.expiresAt = v.expiresAt;
      socket.data.generation = v.generation;
      socket.data.joined = false;
      next();
    } catch (e) {
      log.error('handshake check failed', { error: e });
      refuse(ErrorCode.Internal, 'internal error');
    }
  });

  // A reissued link: every session opened with an older one ends at once.
  deps.credentials.onRevoked((principal, generation) => {
    for (const sk of io.of('/').sockets.values()) {
      if (sk.data.actor?.principal !== principal || sk.data.generation >= generation) continue;
      log.info('link reissued: closing a session of the old link', { principal });
      sk.emit('session:closed', { reason: 'revoked' });
      sk.disconnect(true);
    }
  });

  service.on('changed', (state, minutes) => {
    // Media follows first (who is heard); it never throws: a failure is logged and retried there.
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
  const ctx: PresenceContext = {
    announce,
    presence: () =>
      sessions.presence(
        roster.sites.map((s) => s.code),
        (c) => deps.media().siteMedia(c),
      ),
  };

  // Health: every site sampled; the chair, co-chair and operators get each round.
  const health = new HealthMonitor(deps.health, {
    siteCodes: () => roster.sites.map((s) => s.code),
    session: (code) => (sessions.siteConnected(code) ? 'up' : sessions.siteLost(code) ? 'lost' : 'none'),
    stats: (code) => deps.media().siteStats(code),
    now: () => Date.now(),
    ...(deps.healthStore ? { store: deps.healthStore } : {}),
  });
  /** Per site, one restart a period: a bucket of one token. */
  const mediaRestarts = new Map<string, TokenBucket>();
  const mayRestart = (code: string) => {
    let bucket = mediaRestarts.get(code);
    if (!bucket)
      mediaRestarts.set(code, (bucket = new TokenBucket(1000 / MEDIA_RESTART_COOLDOWN_MS, 1, Date.now())));
    return bucket.take(Date.now());
  };
  /** A site's session answered within the last few heartbeats (it is not merely unnoticed yet). */
  const answering = (code: string) => {
    const now = Date.now();
    for (const sk of io.of('/').sockets.values())
      if (
        sk.data.actor?.siteCode === code &&
        sk.data.live &&
        !sk.data.live.session.lost &&
        now - sk.data.live.lastSeen < 4000
      )
        return true;
    return false;
  };
  health.onSample((sites) => {
    io.to(MINUTES_ROOM).emit('health:changed', { sites });
    // Media stopped while the session still answers: its transport failed (mediasoup has no ICE
    // consent check to notice it). The server starts that site's media again on its own. (A
    // pulled cable silences both: that is a loss, handled by liveness, not restarted here.)
    for (const h of sites)
      if (
        h.last?.reasons[0] === 'silent' &&
        h.code !== roster.central.code &&
        answering(h.code) &&
        mayRestart(h.code)
      )
        deps.media().restartSite(h.code, 'no RTP/RTCP while its session answers');
  });
  health.start();
  ctx.health = health;

  // Liveness: a session silent for lostAfterSec (no packet, not even a heartbeat answer) is
  // lost: its site shows as reconnecting and what it holds is kept for holdSec. The socket
  // may still come back (a blackout shorter than socket.io's own timeout): then it is back.
  const lostAfterMs = deps.health.lostAfterSec * 1000;
  // Marked lost a little before lostAfterSec of silence, so that with the check's own period
  // it is never later than lostAfterSec after its last packet (heartbeats come every quarter).
  const silentFor = lostAfterMs - Math.min(1000, lostAfterMs / 4);
  const liveness = setInterval(() => {
    const now = Date.now();
    for (const sk of io.of('/').sockets.values()) {
      const live = sk.data.live;
      if (!live || live.session.lost || now - live.lastSeen < silentFor) continue;
      live.onLost(now - live.lastSeen);
    }
  }, 250);
  liveness.unref();

  io.on('connection', (socket) => {
    try {
      onConnection(socket, deps, sessions, ctx, limiter);
    } catch (e) {
      log.error('setting up a connection failed', { error: e });
      socket.disconnect(true);
    }
  });

  // The recorders' status: to the chair, co-chair and operators when it changes.
  deps.recordings?.on('status', () => {
    if (deps.recordings) io.to(MINUTES_ROOM).emit('recording:status', deps.recordings.status());
  });
  ctx.recordings = deps.recordings;

  const ingests = new Map<string, SessionHandle>();
  return {
    sessions,
    health,
    setIngest(siteCode, open) {
      const had = ingests.get(siteCode);
      if (open === Boolean(had)) return;
      const wasConnected = sessions.siteConnected(siteCode);
      if (open) {
        const handle: SessionHandle = {
          id: `ingest:${siteCode}`,
          actor: { role: 'site', principal: `${siteCode}#ingest`, siteCode },
          close: () => deps.media().closeIngest(siteCode),
        };
        ingests.set(siteCode, handle);
        sessions.attach(handle);
      } else if (had) {
        ingests.delete(siteCode);
        sessions.detach(had);
      }
      announce(siteCode);
      const connected = sessions.siteConnected(siteCode);
      if (connected && !wasConnected) service.observe({ type: 'site:connected', siteCode });
      if (!connected && wasConnected) service.observe({ type: 'site:disconnected', siteCode });
    },
    closeAll(reason) {
      clearInterval(liveness);
      health.stop();
      for (const s of sessions.all()) s.close(reason);
    },
  };
}

interface PresenceContext {
  announce(code: string): void;
  presence(): SitePresence[];
  health?: HealthMonitor;
  recordings?: Recordings | undefined;
}

function onConnection(
  socket: IoSocket,
  deps: SignalingDeps,
  sessions: Sessions,
  ctx: PresenceContext,
  limiter: CredentialLimiter,
): void {
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
      socket.data.closeReason = reason;
      socket.emit('session:closed', { reason });
      socket.disconnect(true);
    },
  };
  // Cut for flooding: whatever is still buffered from this socket is dropped unanswered.
  let cut = false;
  const cutOff = (what: string) => {
    cut = true;
    log.warn(`${what} far past the rate limit: disconnecting the socket`, { principal: actor.principal });
    socket.disconnect(true);
  };
  const allow = (): boolean => {
    if (cut) return false;
    const verdict = limiter.allow(actor.principal);
    if (verdict === 'cut') cutOff('requests');
    return verdict === 'ok';
  };

  // The link stops working at its expiry even on a socket that sends nothing.
  const expire = () => {
    if (!socket.connected) return;
    if (service.now < socket.data.expiresAt) {
      cancelExpiry = service.setTimer(socket.data.expiresAt, expire); // clamped long timers
      return;
    }
    log.info('link expired: closing the session', { principal: actor.principal });
    session.close('expired');
  };
  let cancelExpiry = service.setTimer(socket.data.expiresAt, expire);

  const handle = <E extends keyof typeof schemas>(
    event: E,
    apply: (payload: Payload<E>) => Promise<unknown> | unknown,
  ): void => {
    (socket as unknown as { on(e: string, fn: (...args: unknown[]) => void): void }).on(event, (...args) => {
      const last = args[args.length - 1];
      const hasAck = typeof last === 'function';
      // A request without an acknowledgement callback is applied all the same; it just gets no reply.
      const ack = hasAck ? (last as (r: Ack<unknown>) => void) : () => undefined;
      let replied = false;
      const reply = (r: Ack<unknown>) => {
        if (replied) return;
        replied = true;
        try {
          ack(r);
        } catch (e) {
          log.error('could not send an answer', { event, error: e });
        }
      };
      const fail = (code: ErrorCode, message: string) => {
        log.debug('refused', { principal: actor.principal, event, code, message });
        reply({ ok: false, error: { code, message } });
      };
      try {
        if (!allow()) return cut ? undefined : fail(ErrorCode.RateLimited, 'too many requests; slow down');
        if (args.length > (hasAck ? 2 : 1)) return fail(ErrorCode.BadRequest, 'one payload per request');
        const payload = hasAck && args.length === 1 ? undefined : args[0];
        // Bounded before any schema or anything else walks it: no recursion over client data.
        const shape = checkShape(payload, PAYLOAD_LIMITS);
        if (!shape.ok) return fail(ErrorCode.BadRequest, `payload: ${shape.message}`);
        const parsed = schemas[event].safeParse(payload);
        if (!parsed.success) return fail(ErrorCode.BadRequest, describeIssues(parsed.error));
        if (service.now >= socket.data.expiresAt) {
          fail(ErrorCode.AuthExpired, 'the join link has expired');
          session.close('expired');
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
          )
          .catch((e: unknown) => log.error('answering failed', { event, error: e }));
      } catch (e) {
        reply({ ok: false, error: toWireError(e, event) });
      }
    });
  };

  // Acknowledgements (answers to our consumer offers) are not events and pass no handler of
  // ours: metered here, per socket, at four times the event rate. A socket sending them far
  // past that is cut. (Events, known or not, are metered per credential by allow().)
  const acks = new TokenBucket(deps.limits.ratePerSec * 4, deps.limits.burst * 4, Date.now());
  socket.conn.on('packet', (packet: { type: string; data?: unknown }) => {
    const live = socket.data.live;
    if (live) {
      live.lastSeen = Date.now();
      if (session.lost) back();
    }
    if (packet.type !== 'message' || typeof packet.data !== 'string') return;
    const kind = packet.data[0];
    if ((kind !== '3' && kind !== '6') || cut || acks.take(Date.now())) return;
    cutOff('acknowledgements');
  });

  socket.onAny((event: string, ...args: unknown[]) => {
    try {
      if (KNOWN_EVENTS.has(event)) return;
      // Unknown events cost from the budget whether or not they ask for an answer.
      const allowed = allow();
      const ack = args[args.length - 1];
      if (typeof ack !== 'function') return;
      if (cut) return;
      const code = allowed ? ErrorCode.UnknownEvent : ErrorCode.RateLimited;
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
    } catch (e) {
      log.error('answering an unknown event failed', { error: e });
    }
  });

  const announced = async (t: TransportOptions): Promise<TransportOptions> =>
    deps.iceCandidates
      ? { ...t, iceCandidates: await deps.iceCandidates(actor.principal, t.iceCandidates) }
      : t;

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
    let recv: types.WebRtcTransport;
    try {
      media.addPeer({
        id: session.id,
        party: actor,
        site,
        sendOffer: offerSender(socket),
        onConsumerClosed: (id) => socket.emit('consumer:closed', { id }),
        onMediaLost: () => session.close('media-restart'),
        onMediaRestart: (recv) => {
          announced(transportOptions(recv))
            .then((recvTransport) =>
              socket.emit('media:restart', {
                routerRtpCapabilities: media.rtpCapabilities as unknown as Record<string, unknown>,
                recvTransport,
              }),
            )
            .catch(() => session.close('media-restart'));
        },
        onProducerLayers: (producerId, spatialLayer) =>
          socket.emit('producer:layers', { producerId, spatialLayer }),
        onProducerClosed: (producerId, source, reason) =>
          socket.emit('producer:closed', { producerId, source, reason }),
      });
      recv = await media.createTransport(session.id, 'recv');
    } catch (e) {
      media.removePeer(session.id);
      sessions.detach(session);
      socket.data.joined = false;
      throw e;
    }
    const recvTransport = await announced(transportOptions(recv));
    void socket.join(ROOM);
    if (MINUTES_READERS.includes(actor.role)) {
      void socket.join(MINUTES_ROOM);
      if (ctx.recordings) socket.emit('recording:status', ctx.recordings.status());
    }
    socket.data.live = { lastSeen: Date.now(), session, onLost: lost };
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
      recvTransport,
      state: service.state,
      serverNow: service.now,
    };
  });

  handle('transport:create', async ({ direction }) =>
    announced(transportOptions(await deps.media().createTransport(session.id, direction))),
  );

  handle('transport:connect', async ({ transportId, dtlsParameters }) => {
    await deps.media().connectTransport(session.id, transportId, dtlsParameters);
  });

  handle('producer:create', async ({ transportId, kind, source, rtpParameters }) => {
    const producer = await deps.media().produce(session.id, transportId, kind, source, rtpParameters);
    return { id: producer.id };
  });

  handle('transport:restart', async ({ transportId }) => ({
    iceParameters: await deps.media().restartIce(session.id, transportId),
  }));

  handle('stats:report', (report) => {
    // A hall's browser, or the chair's for the central bridge: their figures are their site's.
    if (actor.role === 'site' || actor.principal === service.state.chairHolder)
      ctx.health?.report(site.code, report);
  });

  handle('health:history', ({ code }) => {
    if (!MINUTES_READERS.includes(actor.role))
      throw new WireFailure(ErrorCode.Forbidden, 'only the chair, co-chair and operators see health');
    if (!roster.sites.some((s) => s.code === code))
      throw new WireFailure(ErrorCode.NotFound, `no site "${code}"`);
    return { code, samples: ctx.health?.history(code) ?? [] };
  });

  handle('producer:close', ({ producerId }) => {
    deps.media().closeProducer(session.id, producerId);
  });

  handle('session:ready', ({ rtpCapabilities }) => {
    deps.media().setReady(session.id, rtpCapabilities);
  });

  for (const event of COMMAND_EVENTS) {
    handle(event, (payload) => {
      if (event === 'floor:request' && actor.role === 'site') {
        // Requesting and withdrawing in a loop writes minutes and pushes the state to every hall.
        const wait = limiter.requestCooldown(actor.principal);
        if (wait > 0)
          throw new WireFailure(
            ErrorCode.RateLimited,
            `a withdrawn request can be made again in ${Math.ceil(wait / 1000)} s`,
          );
      }
      if (event === 'recording:start' && ctx.recordings && !ctx.recordings.enabled.programme)
        throw new WireFailure(ErrorCode.WrongState, 'the programme recorder is turned off in the config');
      service.execute(actor, { type: event, ...payload } as Command);
      if (event === 'floor:withdraw' && actor.role === 'site') limiter.withdrew(actor.principal);
    });
  }

  /** No heartbeat or anything else for lostAfterSec: the site is held for it (see attachSignaling). */
  const lost = (silentMs: number): void => {
    session.lost = true;
    log.info('no answer from the session: lost, its place kept', { principal: actor.principal, silentMs });
    try {
      ctx.announce(site.code);
      if (actor.role === 'site' && sessions.isCurrent(session) && !sessions.siteConnected(site.code))
        service.observe({
          type: 'site:lost',
          siteCode: site.code,
          holdMs: deps.health.holdSec * 1000,
          silentSince: service.now - silentMs,
        });
    } catch (e) {
      log.error('recording a lost site failed', { principal: actor.principal, error: e });
    }
  };

  /** It answers again before its socket was given up: it is back where it was. */
  const back = (): void => {
    session.lost = false;
    log.info('the session answers again', { principal: actor.principal });
    try {
      ctx.announce(site.code);
      if (actor.role === 'site' && sessions.isCurrent(session))
        service.observe({ type: 'site:connected', siteCode: site.code });
    } catch (e) {
      log.error('recording a site back failed', { principal: actor.principal, error: e });
    }
  };

  socket.on('disconnect', (reason) => {
    cancelExpiry();
    if (!socket.data.joined) return;
    try {
      deps.media().removePeer(session.id);
    } catch (e) {
      log.error('removing a peer from the media failed', { principal: actor.principal, error: e });
    }
    // Gone on purpose (the client left, its link was revoked or expired): an ordinary departure.
    // Anything else (the connection dropped or stopped answering, its media must start again)
    // is a loss: the site's place is kept for holdSec, for it to come back.
    const closed = socket.data.closeReason;
    const departed =
      reason === 'client namespace disconnect' ||
      closed === 'revoked' ||
      closed === 'expired' ||
      closed === 'server-shutdown';
    try {
      if (sessions.detach(session)) {
        ctx.announce(site.code);
        if (!sessions.siteConnected(site.code) && actor.role === 'site') {
          service.observe(
            departed
              ? { type: 'site:disconnected', siteCode: site.code }
              : { type: 'site:lost', siteCode: site.code, holdMs: deps.health.holdSec * 1000 },
          );
        }
      }
    } catch (e) {
      log.error('recording a departure failed', { principal: actor.principal, error: e });
    }
    log.info('left', { principal: actor.principal, reason, ...(closed ? { closed } : {}) });
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
      unavailable: ErrorCode.ServerBusy,
    }[e.kind];
    return { code, message: e.message };
  }
  log.error('handler failed', { event, error: e });
  return { code: ErrorCode.Internal, message: 'internal error' };
}
