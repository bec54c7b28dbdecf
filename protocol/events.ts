/**
 * The wire protocol shared by the server and the browser client: event names
 * (`entity:verb`), payloads and acknowledgements. Types only plus constants;
 * runtime validation lives in `./schemas.ts` (used at the server's edge), and the client →
 * server payload types are derived from those schemas. Imported from there as types only:
 * the browser bundles this file, and must not pull zod in with it.
 *
 * Every event is documented in docs/protocol.md; a test fails when one is missing there.
 */

import type { ConferenceState, MinuteEntry } from './conference';
import type { HealthSample, SiteHealth } from './health';
import type { RecordingStatus } from './recording';
import type { PayloadInput } from './schemas';

export const PROTOCOL_VERSION = 2;

/** Error codes carried on the wire. Grouped: bad input, not allowed, wrong state, server side. */
export const ErrorCode = {
  BadRequest: 'BAD_REQUEST',
  UnknownEvent: 'UNKNOWN_EVENT',
  AuthRequired: 'AUTH_REQUIRED',
  AuthInvalid: 'AUTH_INVALID_TOKEN',
  AuthExpired: 'AUTH_EXPIRED',
  /** The credential was replaced by a newer one (its link reissued): the old one no longer works. */
  AuthRevoked: 'AUTH_REVOKED',
  WrongState: 'WRONG_STATE',
  RateLimited: 'RATE_LIMITED',
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
  /** The session's credential expired (the client does not reconnect). */
  Expired: 'expired',
  /** The session's credential was revoked, its link reissued (the client does not reconnect). */
  Revoked: 'revoked',
} as const;
export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason];

/**
 * `recorder` is the server's own programme recorder (a headless page it opens with a credential
 * it signs itself; never a join link): it receives the programme as a hall does and publishes nothing.
 */
export type Role = 'chair' | 'cochair' | 'operator' | 'site' | 'wall' | 'recorder';
export type SiteKind = 'central' | 'city' | 'province';
export type MediaSource = 'camera' | 'microphone' | 'screen';
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
  /** Publishing a camera / a microphone. */
  camera: boolean;
  microphone: boolean;
  /** mediasoup's score of the site's camera stream fell below 5 of 10: a poor connection. */
  poor: boolean;
}

/* mediasoup's parameter objects travel as opaque JSON: the server validates their
 * shape at the edge and mediasoup validates their content. */
export type RtpCapabilities = Record<string, unknown>;
export type RtpParameters = Record<string, unknown>;
export type DtlsParameters = Record<string, unknown>;

export interface JoinResult {
  protocolVersion: number;
  role: Role;
  /** Who the credential says you are: the site code for a site, the person for central roles. */
  principal: string;
  site: SiteInfo;
  conference: { id: string; title: string };
  sites: SiteInfo[];
  presence: SitePresence[];
  routerRtpCapabilities: RtpCapabilities;
  /** The receive transport, created with the session so receiving needs no extra round trip. */
  recvTransport: TransportOptions;
  state: ConferenceState;
  /** The server's clock when it answered, to align countdowns. */
  serverNow: number;
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
  principal: string;
}

/**
 * What the acknowledgement of each media request carries. Every conference command is
 * acknowledged with null: its effect arrives as `conference:state`.
 */
interface MediaAcks {
  'session:join': JoinResult;
  'session:ready': null;
  'transport:create': TransportOptions;
  'transport:connect': null;
  'producer:create': { id: string };
  'producer:close': null;
  'transport:restart': { iceParameters: Record<string, unknown> };
  'stats:report': null;
  'health:history': { code: string; samples: HealthSample[] };
}

/**
 * Client → server. Each handler gets the payload and an ack callback. The payload is what the
 * event's schema accepts (as sent, so its input type); conference commands' rights are checked
 * on the server from the credential (see docs/protocol.md).
 */
export type ClientToServerEvents = {
  [E in ClientEventName]: (
    payload: PayloadInput<E>,
    ack: AckFn<E extends MediaEventName ? MediaAcks[E] : null>,
  ) => void;
};

export type AgendaItemInput = PayloadInput<'agenda:set'>['items'][number];

/** Server → client. */
export interface ServerToClientEvents {
  /** The server offers a consumer; the client creates it and acks, then the server resumes it. */
  'consumer:added': (offer: ConsumerOffer, ack: AckFn<null>) => void;
  'consumer:closed': (payload: { id: string }) => void;
  /**
   * The highest simulcast layer (0 low, 1 middle, 2 high) anyone wants of the publisher's
   * camera: the client stops encoding the layers above, and starts them again when asked.
   */
  'producer:layers': (payload: { producerId: string; spatialLayer: number }) => void;
  /**
   * The server closed one of the client's own producers: its presentation, when the token moved
   * to someone else. The client stops that capture and says why.
   */
  'producer:closed': (payload: {
    producerId: string;
    source: MediaSource;
    reason: 'presentation-moved';
  }) => void;
  'presence:changed': (payload: SitePresence) => void;
  /**
   * The media of this session must start again (the worker carrying it died, or its transport
   * failed): the client drops its transports, receives on this new one and publishes again.
   * The session, and everything the site holds in the conference, stay as they are.
   */
  'media:restart': (payload: Pick<JoinResult, 'routerRtpCapabilities' | 'recvTransport'>) => void;
  'session:closed': (payload: { reason: CloseReason }) => void;
  /** The whole conference state after every change, with the server's clock for countdowns. */
  'conference:state': (payload: { state: ConferenceState; serverNow: number }) => void;
  /** New minutes entries; to the chair, co-chair and operators only. */
  'minutes:appended': (payload: { entries: MinuteEntry[] }) => void;
  /** Every site's health, each sampling period; to the chair, co-chair and operators only. */
  'health:changed': (payload: { sites: SiteHealth[] }) => void;
  /** The recorders' status (files, disk, problems) when it changes; to the chair, co-chair and operators only. */
  'recording:status': (payload: RecordingStatus) => void;
}

/* The names come from the lists below rather than from ClientToServerEvents, whose payloads
 * come from the schemas, which are keyed by these names: that would go round in a circle. */
export type MediaEventName = (typeof MEDIA_EVENTS)[number];
export type ClientEventName = MediaEventName | CommandEventName;
export type ServerEventName = keyof ServerToClientEvents;

export const MEDIA_EVENTS = [
  'session:join',
  'session:ready',
  'transport:create',
  'transport:connect',
  'producer:create',
  'producer:close',
  /** A transport whose connection failed asks for fresh ICE credentials (an ICE restart). */
  'transport:restart',
  /** A site's browser's own figures, every few seconds. */
  'stats:report',
  /** One site's health history (the last hour); chair, co-chair and operators. */
  'health:history',
] as const;

export const COMMAND_EVENTS = [
  'conference:open',
  'conference:start',
  'conference:conclude',
  'conference:close',
  'chair:handover',
  'floor:request',
  'floor:withdraw',
  'floor:reorder',
  'floor:grant',
  'floor:next',
  'floor:skip',
  'floor:reject',
  'floor:revoke',
  'floor:extend',
  'floor:keep',
  'presentation:give',
  'presentation:release',
  'agenda:set',
  'agenda:next',
  'agenda:goto',
  'agenda:grant',
  'layout:set',
  'rollcall:mark',
  'slide:show',
  'slide:page',
  'slide:close',
  /** The programme composite: recorded to a file (and streamed when configured) from now on / no more. */
  'recording:start',
  'recording:stop',
] as const;
export type CommandEventName = (typeof COMMAND_EVENTS)[number];

export const CLIENT_EVENTS: readonly ClientEventName[] = [...MEDIA_EVENTS, ...COMMAND_EVENTS];
export const SERVER_EVENTS: readonly ServerEventName[] = [
  'consumer:added',
  'consumer:closed',
  'producer:layers',
  'producer:closed',
  'presence:changed',
  'media:restart',
  'session:closed',
  'conference:state',
  'minutes:appended',
  'health:changed',
  'recording:status',
];

/** Handshake auth field and the data of a refused connection (`connect_error`). */
export interface HandshakeAuth {
  token: string;
}
export interface ConnectErrorData {
  code: ErrorCode;
  /** With RATE_LIMITED: when connecting again may succeed. */
  retryAfterMs?: number;
}
