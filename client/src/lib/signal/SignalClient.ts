/**
 * The wire, and only the wire: the one module that owns socket.io-client. Typed requests
 * (answer or `RequestError`), the server's pushes re-emitted as typed events, and the socket's
 * connection state with its reconnection.
 *
 * After a drop it reconnects on its own; a refused credential (missing, invalid, expired,
 * revoked) or a session closed as replaced, expired or revoked ends it for good (../terminal.ts).
 * What a session is (joining, media) is the room's business: the room calls `refuse()` and
 * `restart()` when a join fails.
 */
import { io, type Socket } from 'socket.io-client';
import {
  type Ack,
  type ClientEventName,
  type ClientToServerEvents,
  type CloseReason,
  type ConnectErrorData,
  ErrorCode,
  SERVER_EVENTS,
  type ServerEventName,
  type ServerToClientEvents,
  type WireError,
} from '../../../../protocol/events';
import { Emitter } from '../Emitter';
import { mark } from '../mark';
import { isTerminalCode, isTerminalReason } from '../terminal';

/** 'open': the socket is connected (the room then joins). 'refused' and 'closed' are final. */
export type SignalState = 'connecting' | 'open' | 'reconnecting' | 'refused' | 'closed';

/** Why the connection is in its state: a refusal's code, or the reason the server closed the session. */
export interface StateDetail {
  code?: ErrorCode;
  reason?: CloseReason;
}

/** Each server push, with its arguments (a consumer offer carries its ack). */
export type SignalPushes = { [K in ServerEventName]: Parameters<ServerToClientEvents[K]> };

export interface SignalEvents extends SignalPushes {
  state: [state: SignalState, detail: StateDetail];
  /** The socket dropped; emitted before the state says so, so the session's media goes first. */
  down: [];
}

export interface SignalOptions {
  token: string;
  /** Server address; defaults to the page's origin. */
  url?: string;
}

export type RequestPayload<E extends ClientEventName> = Parameters<ClientToServerEvents[E]>[0];
export type RequestResult<E extends ClientEventName> =
  Parameters<Parameters<ClientToServerEvents[E]>[1]>[0] extends Ack<infer T> ? T : never;

/**
 * Error for a failed request, carrying the wire code. A request that got no answer (timed out,
 * not connected) is INTERNAL with the socket's message, as the pages have always shown it.
 */
export class RequestError extends Error {
  constructor(readonly error: WireError) {
    super(`${error.code}: ${error.message}`);
  }
}

const REQUEST_TIMEOUT_MS = 10_000;

type Socket_ = Socket<ServerToClientEvents, ClientToServerEvents>;

export class SignalClient extends Emitter<SignalEvents> {
  readonly #opts: SignalOptions;
  #socket?: Socket_;
  #state: SignalState = 'connecting';
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  /** From the last `session:closed`: whether the drop that follows is final. */
  #closeReason?: CloseReason;

  constructor(opts: SignalOptions) {
    super();
    this.#opts = opts;
  }

  get state(): SignalState {
    return this.#state;
  }

  /** Opens the socket with the credential. */
  connect(): void {
    const socket: Socket_ = io(this.#opts.url ?? window.location.origin, {
      auth: { token: this.#opts.token },
      transports: ['websocket'],
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
    });
    this.#socket = socket;
    socket.on('connect', () => {
      clearTimeout(this.#reconnectTimer);
      mark('connected');
      // A close reason belongs to the session it ended, not to the one about to be joined.
      this.#closeReason = undefined;
      this.#setState('open');
    });
    socket.on('connect_error', (err: Error & { data?: ConnectErrorData }) => {
      const code = err.data?.code;
      if (code && isTerminalCode(code)) {
        socket.disconnect();
        this.#setState('refused', { code });
        return;
      }
      this.#setState('reconnecting');
      // Refused by the server's handshake check (too many connections on this link, a server
      // error): socket.io does not retry those by itself. Try again when the server says, with jitter.
      if (!socket.active)
        this.#reconnectLater((err.data?.retryAfterMs ?? 2000) + Math.floor(Math.random() * 1000));
    });
    socket.on('disconnect', (reason) => {
      this.emit('down');
      const closeReason = this.#closeReason;
      if (closeReason && isTerminalReason(closeReason)) {
        // No reconnecting, not even by socket.io's own manager after a transport close.
        socket.disconnect();
        this.#setState('closed', { reason: closeReason });
        return;
      }
      if (this.#final()) return;
      this.#setState('reconnecting', closeReason ? { reason: closeReason } : {});
      // socket.io does not reconnect after a server-side disconnect: do it ourselves.
      if (reason === 'io server disconnect') this.#reconnectLater(1000);
    });
    socket.on('session:closed', ({ reason }) => {
      this.#closeReason = reason;
    });
    // Every push is re-emitted as it came; the socket's typed overloads do not follow a
    // generic event name, hence the casts (the names and arguments are the protocol's own).
    for (const event of SERVER_EVENTS) {
      const forward = (...args: unknown[]) => this.emit(event, ...(args as SignalEvents[typeof event]));
      socket.on(event as 'consumer:closed', forward as ServerToClientEvents['consumer:closed']);
    }
  }

  /** Closes the socket for good (the page is leaving). */
  close(): void {
    clearTimeout(this.#reconnectTimer);
    this.#setState('closed');
    this.#socket?.disconnect();
  }

  /** Ends for good with a terminal code met after connecting (the credential expired while joining). */
  refuse(code: ErrorCode): void {
    this.#setState('refused', { code });
    this.#socket?.disconnect();
  }

  /** Drops the socket and connects again after `ms`: a session that failed half-way starts over. */
  restart(ms: number): void {
    this.#socket?.disconnect();
    this.#reconnectLater(ms);
  }

  /**
   * Drops the connection and connects again at once (a media transport failed: only a new
   * session heals it). The connection is closed under the socket, not with a goodbye: the
   * server holds this site's place as for any lost connection, instead of seeing it leave.
   */
  cycle(): void {
    const socket = this.#socket;
    if (!socket) return;
    if (socket.connected) socket.io.engine.close();
    else socket.connect();
  }

  /** Sends a request; resolves with the server's answer, rejects with a `RequestError`. */
  async request<E extends ClientEventName>(event: E, payload: RequestPayload<E>): Promise<RequestResult<E>> {
    let res: Ack<unknown>;
    try {
      const socket = this.#socket;
      if (!socket) throw new Error('not started');
      // The typed overloads do not follow a generic event name; the payload was typed above.
      const timed = socket.timeout(REQUEST_TIMEOUT_MS) as unknown as {
        emitWithAck(e: string, p: unknown): Promise<Ack<unknown>>;
      };
      res = await timed.emitWithAck(event, payload);
    } catch (e) {
      throw new RequestError({ code: ErrorCode.Internal, message: String(e) });
    }
    if (!res.ok) throw new RequestError(res.error);
    return res.data as RequestResult<E>;
  }

  #final(): boolean {
    return this.#state === 'closed' || this.#state === 'refused';
  }

  #setState(state: SignalState, detail: StateDetail = {}): void {
    if (this.#state === state && !detail.code) return;
    this.#state = state;
    this.emit('state', state, detail);
  }

  /**
   * The one pending reconnection (a later call replaces an earlier one): never two CONNECTs at
   * once, never after close() or a terminal refusal, never while socket.io is already at it.
   */
  #reconnectLater(ms: number): void {
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      const socket = this.#socket;
      if (!socket || socket.active || this.#final()) return;
      socket.connect();
    }, ms);
  }
}
