/**
 * Runtime validation of every client → server payload (types are not validation).
 * Strict objects: unknown keys are refused. Sizes are bounded so that a hostile
 * client cannot make the server parse or store arbitrarily large input.
 */
import { z } from 'zod';
import type { ClientEventName } from './events';
import { jsonSize } from './shape';

const MAX_ID = 64;

/**
 * A JSON object from mediasoup-client, bounded in size; mediasoup validates the content.
 * Measured without recursion (never JSON.stringify a client's value: see shape.ts).
 */
const mediaObject = (maxBytes: number) =>
  z
    .record(z.string(), z.unknown())
    .refine((v) => jsonSize(v) <= maxBytes, { message: `larger than ${maxBytes} bytes` });

const id = z.string().min(1).max(MAX_ID);
const code = z.string().regex(/^[a-z0-9-]{1,48}$/, 'a site code');
const principal = z.string().regex(/^[a-z0-9._-]{1,64}$/i, 'a person id');
/** Human text: trimmed, no control characters, bounded. */
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((v) => ![...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), {
      message: 'control characters are not allowed',
    });
const empty = z.strictObject({});
const int = (min: number, max: number) => z.number().int().min(min).max(max);
/** A finite measured figure. */
const num = (min: number, max: number) => z.number().finite().min(min).max(max);

export const schemas = {
  'session:join': empty,
  'session:ready': z.strictObject({ rtpCapabilities: mediaObject(64 * 1024) }),
  'transport:create': z.strictObject({ direction: z.enum(['send', 'recv']) }),
  'transport:connect': z.strictObject({ transportId: id, dtlsParameters: mediaObject(8 * 1024) }),
  'producer:create': z.strictObject({
    transportId: id,
    kind: z.enum(['audio', 'video']),
    source: z.enum(['camera', 'microphone', 'screen']),
    rtpParameters: mediaObject(32 * 1024),
  }),
  'producer:close': z.strictObject({ producerId: id }),
  'transport:restart': z.strictObject({ transportId: id }),
  'stats:report': z.strictObject({
    sendKbps: num(0, 1_000_000),
    recvKbps: num(0, 1_000_000),
    fps: num(0, 1000),
    freezes: int(0, 1_000_000),
    audioLevel: num(0, 1),
    rttMs: num(0, 600_000).optional(),
  }),
  'health:history': z.strictObject({ code }),

  'conference:open': empty,
  'conference:start': empty,
  'conference:conclude': empty,
  'conference:close': empty,
  'chair:handover': z.strictObject({ to: principal }),
  'floor:request': z.strictObject({ title: text(200), siteCode: code.optional() }),
  'floor:withdraw': z.strictObject({ requestId: id }),
  'floor:reorder': z.strictObject({ requestId: id, toIndex: int(0, 1000) }),
  'floor:grant': z.strictObject({ requestId: id, allottedSec: int(10, 3 * 3600).optional() }),
  'floor:next': empty,
  'floor:skip': z.strictObject({ requestId: id }),
  'floor:reject': z.strictObject({ requestId: id, reason: text(200).optional() }),
  'floor:revoke': empty,
  'floor:extend': z.strictObject({ seconds: int(1, 3600) }),
  'floor:keep': empty,
  'presentation:give': z.strictObject({
    to: z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('site'), code }),
      z.strictObject({ kind: z.literal('person'), principal }),
    ]),
  }),
  'presentation:release': empty,
  'agenda:set': z.strictObject({
    items: z
      .array(
        z.strictObject({
          kind: z.enum(['opening', 'report', 'statement', 'conclusion', 'other']),
          title: text(200),
          allottedSec: int(10, 3 * 3600)
            .nullable()
            .optional(),
          speakerSite: code.nullable().optional(),
          /** A deck shown when the chair grants the floor by this item. */
          deckId: id.nullable().optional(),
        }),
      )
      .max(100),
  }),
  'agenda:next': empty,
  'agenda:goto': z.strictObject({ index: int(0, 99) }),
  'agenda:grant': empty,
  'layout:set': z.strictObject({
    layout: z.enum(['speaker', 'speaker_presentation', 'presentation', 'grid']),
  }),
  'rollcall:mark': z.strictObject({ siteCode: code, status: z.enum(['unknown', 'present', 'absent']) }),
  'slide:show': z.strictObject({ deckId: id, page: int(1, 10_000).optional() }),
  'slide:page': z.strictObject({ page: int(1, 10_000) }),
  'slide:close': empty,
  'recording:start': empty,
  'recording:stop': empty,
} satisfies Record<ClientEventName, z.ZodType>;

/*
 * These schemas are the one source of the client → server payload types: events.ts and the
 * core's commands derive theirs from them, so a shape is written once. Two views of it:
 *
 * - Payload: what the server's handlers and the core receive, the schema's output after
 *   parsing (strings trimmed, say).
 * - PayloadInput: what a client may send, the schema's input; ClientToServerEvents uses it.
 *
 * Today the two are the same types (refinements and trimming do not change a type); a
 * `.default()` or a `.transform()` would make them differ, and each side keeps the right one.
 */
export type Payload<E extends ClientEventName> = z.output<(typeof schemas)[E]>;
export type PayloadInput<E extends ClientEventName> = z.input<(typeof schemas)[E]>;

/** A one-line description of what is wrong with a payload, for the error message. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : 'payload'}: ${i.message}`)
    .join('; ');
}
