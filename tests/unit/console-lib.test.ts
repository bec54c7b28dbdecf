/** The consoles' shared rules, without a browser: the speaker's countdown and the hall search. */
import type { ConferenceState } from '../../protocol/conference';
import { countdown } from '../../client/src/lib/countdown';
import { clock, fold, nameMatches } from '../../client/src/lib/roster';

function onAirState(endsAt: number, flags: { warned?: boolean; expired?: boolean } = {}): ConferenceState {
  return {
    onAir: {
      siteCode: 'ha-noi',
      title: 't',
      requestId: 'r1',
      grantedAt: 0,
      endsAt,
      warned: false,
      expired: false,
      ...flags,
    },
    settings: { defaultAllottedSec: 300, warningSec: 30, expiry: 'signal', graceSec: 0 },
  } as unknown as ConferenceState;
}

describe('the countdown, one rule for every console', () => {
  it('counts down by the server clock, warns in the last warningSec, and counts the overrun with a minus', () => {
    const s = onAirState(100_000);
    expect(countdown(s, 0)).toEqual({ remainingMs: 100_000, text: '1:40', time: 'ok', paused: false });
    expect(countdown(s, 70_000)?.time).toBe('warning');
    expect(countdown(s, 69_999)?.time).toBe('ok');
    expect(countdown(s, 100_000)).toMatchObject({ text: '0:00', time: 'expired' });
    expect(countdown(s, 112_300)).toMatchObject({ text: '-0:13', time: 'expired' });
  });

  it("stands still while the speaker's connection is lost, at the time it had left", () => {
    const s = onAirState(100_000);
    (s.onAir as { pausedAt?: number }).pausedAt = 40_000;
    expect(countdown(s, 40_000)).toEqual({ remainingMs: 60_000, text: '1:00', time: 'ok', paused: true });
    expect(countdown(s, 95_000)).toEqual({ remainingMs: 60_000, text: '1:00', time: 'ok', paused: true });
  });

  it("follows the server's flags even when the local clock disagrees", () => {
    expect(countdown(onAirState(100_000, { warned: true }), 0)?.time).toBe('warning');
    expect(countdown(onAirState(100_000, { expired: true }), 0)?.time).toBe('expired');
  });

  it('is nothing when nobody is on air', () => {
    expect(countdown({ ...onAirState(0), onAir: null }, 0)).toBeNull();
    expect(countdown(undefined, 0)).toBeNull();
    expect(clock(61_001)).toBe('1:02');
  });
});

describe('finding a hall by name', () => {
  it('ignores case, diacritics (đ too) and punctuation', () => {
    expect(fold('Bà Rịa - Vũng Tàu')).toBe('ba ria vung tau');
    expect(fold('Đắk Lắk')).toBe('dak lak');
    for (const q of ['ba ria', 'BÀ RỊA', 'vung tau', 'ria vung', 'tau ba', '  ba   ria '])
      expect(nameMatches('Bà Rịa - Vũng Tàu', q)).toBe(true);
  });

  it('matches every typed word at the start of a word of the name', () => {
    expect(nameMatches('Bà Rịa - Vũng Tàu', 'ria x')).toBe(false);
    expect(nameMatches('Thành phố Hồ Chí Minh', 'ho chi')).toBe(true);
    expect(nameMatches('Hà Nội', 'oi')).toBe(false);
    expect(nameMatches('Hà Nội', '')).toBe(true);
  });
});
