/**
 * The client → server payload types are derived from the zod schemas (protocol/schemas.ts).
 * These checks are at the type level: `npm run lint` (tsc) fails when a derived type drifts
 * from the shape written here, or from the conference's own types the schemas repeat as
 * enums (Layout, RollCall, ...). Jest only runs the file; the `true`s are checked by tsc.
 */
import type { AgendaItem, AgendaKind, Layout, PresentationHolder, RollCall } from '../../protocol/conference';
import type {
  AckFn,
  AgendaItemInput,
  ClientEventName,
  ClientToServerEvents,
  CommandEventName,
  JoinResult,
  MediaKind,
  MediaSource,
  RtpCapabilities,
  TransportDirection,
  TransportOptions,
} from '../../protocol/events';
import type { Payload, PayloadInput } from '../../protocol/schemas';
import type {
  AgendaItemInput as CoreAgendaItemInput,
  Command,
  CommandType,
  PresentationTarget,
} from '../../server/src/core/commands';

/** True only when A and B are the same type (not merely assignable either way). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Sent<E extends ClientEventName> = Parameters<ClientToServerEvents[E]>[0];
type AckOf<E extends ClientEventName> = Parameters<ClientToServerEvents[E]>[1];
type CommandOf<T extends CommandType> = Extract<Command, { type: T }>;

describe('payload types derived from the schemas', () => {
  it('the client sends the shapes the schemas accept', () => {
    const checks: true[] = [
      true satisfies Equal<Sent<'session:join'>, Record<string, never>>,
      true satisfies Equal<Sent<'session:ready'>, { rtpCapabilities: RtpCapabilities }>,
      true satisfies Equal<Sent<'transport:create'>, { direction: TransportDirection }>,
      true satisfies Equal<
        Sent<'producer:create'>,
        { transportId: string; kind: MediaKind; source: MediaSource; rtpParameters: Record<string, unknown> }
      >,
      true satisfies Equal<Sent<'floor:grant'>, { requestId: string; allottedSec?: number }>,
      true satisfies Equal<Sent<'floor:request'>, { title: string; siteCode?: string }>,
      true satisfies Equal<Sent<'presentation:give'>, { to: PresentationHolder }>,
      true satisfies Equal<Sent<'layout:set'>, { layout: Layout }>,
      true satisfies Equal<Sent<'rollcall:mark'>, { siteCode: string; status: RollCall }>,
      true satisfies Equal<Sent<'agenda:set'>, { items: AgendaItemInput[] }>,
      true satisfies Equal<
        AgendaItemInput,
        {
          kind: AgendaKind;
          title: string;
          allottedSec?: number | null;
          speakerSite?: string | null;
          deckId?: string | null;
        }
      >,
      // The agenda the chair sets is the agenda the state carries, item kinds alike.
      true satisfies Equal<AgendaItemInput['kind'], AgendaItem['kind']>,
    ];
    expect(checks.every(Boolean)).toBe(true);
  });

  it('acknowledgements: the media requests answer with their results, commands with null', () => {
    const checks: true[] = [
      true satisfies Equal<AckOf<'session:join'>, AckFn<JoinResult>>,
      true satisfies Equal<AckOf<'transport:create'>, AckFn<TransportOptions>>,
      true satisfies Equal<AckOf<'producer:create'>, AckFn<{ id: string }>>,
      true satisfies Equal<AckOf<'transport:connect'>, AckFn<null>>,
      true satisfies Equal<AckOf<'floor:grant'>, AckFn<null>>,
    ];
    expect(checks.every(Boolean)).toBe(true);
  });

  it("the core's commands are the command events with their parsed payloads", () => {
    const checks: true[] = [
      true satisfies Equal<CommandType, CommandEventName>,
      true satisfies Equal<CommandOf<'floor:next'>, { type: 'floor:next' }>,
      true satisfies Equal<
        CommandOf<'floor:grant'>,
        { type: 'floor:grant'; requestId: string; allottedSec?: number }
      >,
      true satisfies Equal<
        CommandOf<'presentation:give'>,
        { type: 'presentation:give'; to: PresentationTarget }
      >,
      true satisfies Equal<PresentationTarget, PresentationHolder>,
      true satisfies Equal<CoreAgendaItemInput, AgendaItemInput>,
      // Same types today (the schemas refine and trim only); see the comment on Payload.
      true satisfies Equal<Payload<'agenda:set'>, PayloadInput<'agenda:set'>>,
    ];
    expect(checks.every(Boolean)).toBe(true);
  });
});
