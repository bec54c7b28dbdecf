/**
 * Which refusals end a console for good. Reconnecting cannot help when the credential itself
 * is refused (missing, invalid, expired, or replaced by a reissued link) or when the session
 * was closed because of it or taken over elsewhere: the page says why and stays put.
 *
 * Every code and reason is decided here, one by one: a code added to the protocol does not
 * compile until it is (AUTH_EXPIRED once went missing from a hand-kept list).
 * Pure (no DOM, no socket) so it can be unit-tested.
 */
import { CloseReason, ErrorCode } from '../../../protocol/events';

const CODE_IS_TERMINAL: Readonly<Record<ErrorCode, boolean>> = {
  [ErrorCode.BadRequest]: false,
  [ErrorCode.UnknownEvent]: false,
  [ErrorCode.AuthRequired]: true,
  [ErrorCode.AuthInvalid]: true,
  [ErrorCode.AuthExpired]: true,
  [ErrorCode.AuthRevoked]: true,
  [ErrorCode.WrongState]: false,
  // The server says when to try again.
  [ErrorCode.RateLimited]: false,
  [ErrorCode.NotJoined]: false,
  [ErrorCode.AlreadyJoined]: false,
  [ErrorCode.NotFound]: false,
  [ErrorCode.Forbidden]: false,
  [ErrorCode.MediaError]: false,
  [ErrorCode.ServerBusy]: false,
  [ErrorCode.Internal]: false,
};

const REASON_IS_TERMINAL: Readonly<Record<CloseReason, boolean>> = {
  [CloseReason.Replaced]: true,
  [CloseReason.ServerShutdown]: false,
  [CloseReason.MediaRestart]: false,
  [CloseReason.Expired]: true,
  [CloseReason.Revoked]: true,
};

/**
 * The codes or reasons a table marks terminal, listed (each needs its own words on the page).
 * The consoles only ask `isTerminal…`, so the lists are marked pure for the bundler to leave out.
 */
function terminal<K extends string>(table: Readonly<Record<K, boolean>>): ReadonlySet<K> {
  return new Set((Object.keys(table) as K[]).filter((k) => table[k]));
}

/** `connect_error` codes (and request error codes) after which the client does not reconnect. */
export const TERMINAL_CODES: ReadonlySet<ErrorCode> = /* @__PURE__ */ terminal(CODE_IS_TERMINAL);

/** `session:closed` reasons after which the client does not reconnect. */
export const TERMINAL_REASONS: ReadonlySet<CloseReason> = /* @__PURE__ */ terminal(REASON_IS_TERMINAL);

// The argument is a string, not the enum: it comes off the wire, and a code this build does not
// know (a newer server) is not terminal. `=== true`: an inherited name ('toString') is not either.
export function isTerminalCode(code: string | undefined): boolean {
  return code !== undefined && CODE_IS_TERMINAL[code as ErrorCode] === true;
}

export function isTerminalReason(reason: string | undefined): boolean {
  return reason !== undefined && REASON_IS_TERMINAL[reason as CloseReason] === true;
}
