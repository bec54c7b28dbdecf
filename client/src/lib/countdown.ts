/**
 * The speaker's time, one rule for every console: the remaining time by the server's clock,
 * a warning from the server's flag or the last `warningSec` seconds, expired at zero or when the
 * server says so. Past the end the time counts on, with a minus sign, so the chair and the
 * speaker both see the overrun. Pure: unit-tested in tests/unit/console-lib.test.ts.
 */
import type { ConferenceState } from '../../../protocol/conference';
import { clock } from './roster';

export type TimeState = 'ok' | 'warning' | 'expired';

export interface Countdown {
  remainingMs: number;
  /** "4:59", "0:00", "-0:12". */
  text: string;
  time: TimeState;
  /** The speaker's connection is lost: the clock stands still at the time it had left. */
  paused: boolean;
}

export function countdown(state: ConferenceState | undefined, serverNow: number): Countdown | null {
  const on = state?.onAir;
  if (!state || !on) return null;
  const paused = on.pausedAt !== undefined;
  const remainingMs = on.endsAt - (on.pausedAt ?? serverNow);
  const expired = on.expired || remainingMs <= 0;
  const warning = on.warned || remainingMs <= state.settings.warningSec * 1000;
  return {
    remainingMs,
    text: remainingMs >= 0 ? clock(remainingMs) : `-${clock(-remainingMs)}`,
    time: expired ? 'expired' : warning ? 'warning' : 'ok',
    paused,
  };
}
