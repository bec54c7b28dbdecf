/** Per-credential limits: one bucket for all of a link's sockets, a socket cap, a connection rate, a cooldown. */
import { CredentialLimiter, FLOOD_BURSTS, TokenBucket } from '../../server/src/signaling/limits';

const LIMITS = {
  ratePerSec: 10,
  burst: 20,
  maxSockets: 4,
  connectPerMin: 30,
  connectBurst: 10,
  requestCooldownMs: 5000,
};

describe('TokenBucket', () => {
  it('gives the burst at once, then the rate', () => {
    const b = new TokenBucket(10, 5, 0);
    expect(Array.from({ length: 6 }, () => b.take(0))).toEqual([true, true, true, true, true, false]);
    expect(b.waitMs(0)).toBe(100);
    expect(b.take(100)).toBe(true);
    expect(b.take(100)).toBe(false);
    expect(b.take(10_000)).toBe(true); // refilled, but never past the burst
    expect(Array.from({ length: 5 }, () => b.take(10_000)).filter(Boolean)).toHaveLength(4);
  });
});

describe('CredentialLimiter', () => {
  let now = 0;
  const limiter = () => new CredentialLimiter(LIMITS, () => now);

  beforeEach(() => {
    now = 1_000_000;
  });

  it('counts events per credential, whatever the socket', () => {
    const l = limiter();
    const verdicts = Array.from({ length: 40 }, () => l.allow('ha-noi'));
    expect(verdicts.filter((v) => v === 'ok')).toHaveLength(20);
    expect(verdicts.filter((v) => v === 'refuse')).toHaveLength(20);
    expect(l.allow('da-nang')).toBe('ok'); // another credential has its own bucket
    now += 1000;
    expect(Array.from({ length: 40 }, () => l.allow('ha-noi')).filter((v) => v === 'ok')).toHaveLength(10);
  });

  it(`cuts a credential that keeps sending past ${FLOOD_BURSTS} bursts of refusals`, () => {
    const l = limiter();
    const verdicts = Array.from({ length: 20 + 20 * FLOOD_BURSTS + 1 }, () => l.allow('ha-noi'));
    expect(verdicts.filter((v) => v === 'refuse')).toHaveLength(20 * FLOOD_BURSTS);
    expect(verdicts[verdicts.length - 1]).toBe('cut');
  });

  it('cuts, within a minute, a credential sending at twice its rate', () => {
    const l = limiter();
    let verdict: string = 'ok';
    let ms = 0;
    // 20 events a second against a rate of 10: half are refused, and strikes refill slowly.
    for (; ms < 60_000 && verdict !== 'cut'; ms += 50) {
      now += 50;
      verdict = l.allow('ha-noi');
    }
    expect(verdict).toBe('cut');
    expect(ms).toBeLessThan(60_000);
  });

  it('logs a refused connection of a credential at most once every 10 s', () => {
    const l = limiter();
    expect(l.logRefusal('ha-noi')).toBe(true);
    expect(l.logRefusal('ha-noi')).toBe(false);
    expect(l.logRefusal('da-nang')).toBe(true);
    now += 10_000;
    expect(l.logRefusal('ha-noi')).toBe(true);
  });

  it('caps the sockets open at once on one credential', () => {
    const l = limiter();
    expect(l.admit('ha-noi', 3)).toEqual({ ok: true });
    expect(l.admit('ha-noi', 4)).toMatchObject({ ok: false, retryAfterMs: 5000 });
  });

  it('caps the connection rate of one credential, and says when to come back', () => {
    const l = limiter();
    const verdicts = Array.from({ length: 12 }, () => l.admit('ha-noi', 0));
    expect(verdicts.filter((v) => v.ok)).toHaveLength(10);
    expect(verdicts[11]).toMatchObject({ ok: false, retryAfterMs: 2000 });
    now += 2000;
    expect(l.admit('ha-noi', 0)).toEqual({ ok: true });
  });

  it('cools a withdrawn request down', () => {
    const l = limiter();
    expect(l.requestCooldown('ha-noi')).toBe(0);
    l.withdrew('ha-noi');
    expect(l.requestCooldown('ha-noi')).toBe(5000);
    now += 4000;
    expect(l.requestCooldown('ha-noi')).toBe(1000);
    now += 1000;
    expect(l.requestCooldown('ha-noi')).toBe(0);
  });
});
