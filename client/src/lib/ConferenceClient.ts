/**
 * The console's client, as the pages and tests have always imported it. It is now three
 * modules, each with its own typed events: ./signal/SignalClient.ts (the wire),
 * ./media/MediaEngine.ts (mediasoup-client) and ./room/ConferenceRoom.ts (the conference the
 * pages drive, which owns the other two). `ConferenceClient` is the room.
 */
export {
  ConferenceRoom as ConferenceClient,
  type ConnectionState,
  type RoomEvents as ClientEvents,
  type RoomOptions as ClientOptions,
} from './room/ConferenceRoom';
export { RequestError, type StateDetail } from './signal/SignalClient';
export type {
  InboundStat,
  OutboundLayer,
  OutboundStat,
  RemoteTrack,
  ScreenStopReason,
} from './media/MediaEngine';
export { type Quality, videoConstraints } from './media/quality';
export { mark } from './mark';
