/**
 * Runtime validation of every client → server payload (types are not validation).
 * Strict objects: unknown keys are refused. Sizes are bounded so that a hostile
 * client cannot make the server parse or store arbitrarily large input.
 */
import { z } from 'zod';
import type { ClientEventName } from './events';

const MAX_ID = 64;

/** A JSON object from mediasoup-client, bounded in size; mediasoup validates the content. */
const mediaObject = (maxBytes: number) =>
  z
    .record(z.string(), z.unknown())
    .refine((v) => JSON.stringify(v).length <= maxBytes, { message: `larger than ${maxBytes} bytes` });

const id = z.string().min(1).max(MAX_ID);

export const schemas = {
  'session:join': z.strictObject({}),
  'session:ready': z.strictObject({ rtpCapabilities: mediaObject(64 * 1024) }),
  'transport:create': z.strictObject({ direction: z.enum(['send', 'recv']) }),
  'transport:connect': z.strictObject({ transportId: id, dtlsParameters: mediaObject(8 * 1024) }),
  'producer:create': z.strictObject({
    transportId: id,
    kind: z.enum(['audio', 'video']),
    source: z.enum(['camera', 'microphone']),
    rtpParameters: mediaObject(32 * 1024),
  }),
} satisfies Record<ClientEventName, z.ZodType>;

export type Payload<E extends ClientEventName> = z.infer<(typeof schemas)[E]>;

/** A one-line description of what is wrong with a payload, for the error message. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : 'payload'}: ${i.message}`)
    .join('; ');
}
