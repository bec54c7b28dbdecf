/**
 * Which refusals end a console for good. Reconnecting cannot help when the credential itself
 * is refused (missing, invalid, expired, or replaced by a reissued link) or when the session
 * was closed because of it or taken over elsewhere: the page says why and stays put.
 * Pure (no DOM, no socket) so it can be unit-tested.
 */
import { CloseReason, ErrorCode } from '../../../protocol/events';

/** `connect_error` codes (and request error codes) after which the client does not reconnect. */
export const TERMINAL_CODES: ReadonlySet<string> = new Set<string>([
  ErrorCode.AuthRequired,
  ErrorCode.AuthInvalid,
  ErrorCode.AuthExpired,
  ErrorCode.AuthRevoked,
]);

/** `session:closed` reasons after which the client does not reconnect. */
export const TERMINAL_REASONS: ReadonlySet<string> = new Set<string>([
  CloseReason.Replaced,
  CloseReason.Expired,
  CloseReason.Revoked,
]);

export function isTerminalCode(code: string | undefined): boolean {
  return code !== undefined && TERMINAL_CODES.has(code);
}

export function isTerminalReason(reason: string | undefined): boolean {
  return reason !== undefined && TERMINAL_REASONS.has(reason);
}
