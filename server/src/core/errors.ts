/**
 * The core's error taxonomy. Each maps to one wire code at the signalling edge:
 * bad input, not allowed, wrong state, not found.
 */
export type CoreErrorKind = 'bad-request' | 'forbidden' | 'wrong-state' | 'not-found';

export class CoreError extends Error {
  override name = 'CoreError';
  constructor(
    readonly kind: CoreErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (m: string) => new CoreError('bad-request', m);
export const forbidden = (m: string) => new CoreError('forbidden', m);
export const wrongState = (m: string) => new CoreError('wrong-state', m);
export const notFound = (m: string) => new CoreError('not-found', m);
