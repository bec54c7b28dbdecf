/**
 * Commands the conference core accepts. The names are the wire event names, so the
 * signalling edge maps one to one; payloads are already validated there. Their fields are the
 * schemas' parsed output (protocol/schemas.ts), the one place a payload's shape is written.
 */
import type { RecordingFile, RecordingKind } from '../../../protocol/recording';
import type { DeckInfo } from '../../../protocol/conference';
import type { CommandEventName } from '../../../protocol/events';
import type { Payload } from '../../../protocol/schemas';

/* An empty payload's type is Record<string, never>: intersected with `{ type }`, it would make
 * `type` never. A command with an empty payload has its type alone. */
type Fields<P> = string extends keyof P ? unknown : P;
/** One object type, so that hovers and errors read `{ type: 'floor:grant'; requestId: string; ... }`. */
type Flat<T> = { [K in keyof T]: T[K] };

export type Command = { [E in CommandEventName]: Flat<{ type: E } & Fields<Payload<E>>> }[CommandEventName];

export type AgendaItemInput = Payload<'agenda:set'>['items'][number];
export type PresentationTarget = Payload<'presentation:give'>['to'];

export type CommandType = Command['type'];

/** Events from the system itself (connections), not from a person. */
export type SystemEvent =
  | { type: 'site:connected'; siteCode: string }
  | { type: 'site:disconnected'; siteCode: string }
  /**
   * The site's connection went without a goodbye (heartbeats or media stopped, the socket
   * dropped): what it holds is kept for `holdMs`, its speaking clock stops meanwhile.
   */
  | {
      type: 'site:lost';
      siteCode: string;
      holdMs: number;
      /** When it went silent (its last heartbeat), if before now: its speaking clock stops there. */
      silentSince?: number;
    }
  /** A deck finished converting (server/src/decks): it joins the conference's decks. */
  | { type: 'deck:added'; deck: DeckInfo }
  /** The statement on air (this floor request) is being recorded as `recording` (server/src/recording). */
  | { type: 'recording:statement'; requestId: string; recording: string }
  /** A recording was finished and can be downloaded: a minutes line links it. */
  | { type: 'recording:saved'; file: RecordingFile }
  /**
   * A recording failed (ffmpeg died, the disk is full). `final`: the programme recorder gave up,
   * the state stops showing it as recording. The conference itself goes on.
   */
  | {
      type: 'recording:failed';
      kind: RecordingKind;
      recording: string | null;
      siteCode: string | null;
      message: string;
      final: boolean;
    };
