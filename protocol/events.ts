/**
 * The wire protocol shared by the server and the browser client: event names
 * (`entity:verb`), payloads and acknowledgements. Types only plus constants;
 * runtime validation lives in `./schemas.ts` (used at the server's edge).
 *
 * Every event is documented in docs/protocol.md; a test fails when one is missing there.
 */

export const PROTOCOL_VERSION = 1;

/** Error codes carried on the wire. Grouped: bad input, not allowed, wrong state, server side. */
export const ErrorCode = {
  BadRequest: 'BAD_REQUEST',
  UnknownEvent: 'UNKNOWN_EVENT',
  AuthRequired: 'AUTH_REQUIRED',
  AuthInvalid: 'AUTH_INVALID_TOKEN',
  NotJoined: 'NOT_JOINED',
  AlreadyJoined: 'ALREADY_JOINED',
  NotFound: 'NOT_FOUND',
  Forbidden: 'FORBIDDEN',
  MediaError: 'MEDIA_ERROR',
  ServerBusy: 'SERVER_BUSY',
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface WireError {
  code: ErrorCode;
  message: string;
}

export type Ack<T> = { ok: true; data: T } | { ok: false; error: WireError };
export type AckFn<T> = (response: Ack<T>) => void;

/** Why the server ended a session; shown to the user. */
export const CloseReason = {
  Replaced: 'replaced',
  ServerShutdown: 'server-shutdown',
  MediaRestart: 'media-restart',
} as const;
export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason];

export type Role = 'chair' | 'site';
export type SiteKind = 'central' | 'city' | 'province';
export type MediaSource = 'camera' | 'microphone';
export type MediaKind = 'audio' | 'video';
export type TransportDirection = 'send' | 'recv';

export interface SiteInfo {
  code: string;
  name: string;
  kind: SiteKind;
}

export interface SitePresence {
  code: string;
  connected: boolean;
}

/* mediasoup's parameter objects travel as opaque JSON: the server validates their
 * shape at the edge and mediasoup validates their content. */
export type RtpCapabilities = Record<string, unknown>;
export type RtpParameters = Record<string, unknown>;
export type DtlsParameters = Record<string, unknown>;

export interface JoinResult {
  protocolVersion: number;
  role: Role;
  site: SiteInfo;
  conference: { id: string; title: string };
  sites: SiteInfo[];
  presence: SitePresence[];
  routerRtpCapabilities: RtpCapabilities;
  /** The receive transport, created with the session so receiving needs no extra round trip. */
  recvTransport: TransportOptions;
}

export interface TransportOptions {
  id: string;
  iceParameters: Record<string, unknown>;
  iceCandidates: Record<string, unknown>[];
  dtlsParameters: DtlsParameters;
}

export interface ConsumerOffer {
  id: string;
  producerId: string;
  kind: MediaKind;
  rtpParameters: RtpParameters;
  source: MediaSource;
  site: SiteInfo;
  role: Role;
}

/** Client → server. Each handler gets the payload and an ack callback. */
export interface ClientToServerEvents {
  'session:join': (payload: Record<string, never>, ack: AckFn<JoinResult>) => void;
  'session:ready': (payload: { rtpCapabilities: RtpCapabilities }, ack: AckFn<null>) => void;
  'transport:create': (payload: { direction: TransportDirection }, ack: AckFn<TransportOptions>) => void;
  'transport:connect': (
    payload: { transportId: string; dtlsParameters: DtlsParameters },
    ack: AckFn<null>,
  ) => void;
  'producer:create': (
    payload: { transportId: string; kind: MediaKind; source: MediaSource; rtpParameters: RtpParameters },
    ack: AckFn<{ id: string }>,
  ) => void;
}

/** Server → client. */
export interface ServerToClientEvents {
  /** The server offers a consumer; the client creates it and acks, then the server resumes it. */
  'consumer:added': (offer: ConsumerOffer, ack: AckFn<null>) => void;
  'consumer:closed': (payload: { id: string }) => void;
  'presence:changed': (payload: SitePresence) => void;
  'session:closed': (payload: { reason: CloseReason }) => void;
}

export type ClientEventName = keyof ClientToServerEvents;
export type ServerEventName = keyof ServerToClientEvents;

export const CLIENT_EVENTS: readonly ClientEventName[] = [
  'session:join',
  'session:ready',
  'transport:create',
  'transport:connect',
  'producer:create',
];
export const SERVER_EVENTS: readonly ServerEventName[] = [
  'consumer:added',
  'consumer:closed',
  'presence:changed',
  'session:closed',
];

/** Handshake auth field and the data of a refused connection (`connect_error`). */
export interface HandshakeAuth {
  token: string;
}
export interface ConnectErrorData {
  code: ErrorCode;
}
