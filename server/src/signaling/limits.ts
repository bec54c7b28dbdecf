/**
 * Limits kept per credential (per principal), not per socket: opening more sockets on one link
 * buys no more requests. Pure bookkeeping with an injected clock, so it is unit-tested alone.
 */

/** A token bucket: `perSec` tokens a second, saving up to `burst`. */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    readonly perSec: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#at = now;
  }

  take(now: number, n = 1): boolean {
    this.#refill(now);
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Milliseconds until `n` tokens are there. */
  waitMs(now: number, n = 1): number {
    this.#refill(now);
    return this.#tokens >= n ? 0 : Math.ceil(((n - this.#tokens) / this.perSec) * 1000);
  }

  #refill(now: number): void {
    if (now > this.#at)
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.perSec);
    this.#at = now;
  }
}

export interface CredentialLimits {
  /** Events per second for all sockets of one credential together, and the burst. */
  ratePerSec: number;
  burst: number;
  /** Sockets open at once on one credential. */
  maxSockets: number;
  /** New connections per minute on one credential, and the burst. */
  connectPerMin: number;
  connectBurst: number;
  /** After a withdrawal, how long before the same site may request the floor again. */
  requestCooldownMs: number;
}

/** How many bursts' worth of refused events a credential may send before its socket is cut. */
export const FLOOD_BURSTS = 4;

interface Entry {
  events: TokenBucket;
  /** Refusals a credential may collect before its socket is cut: a flood costs little for long. */
  strikes: TokenBucket;
  connects: TokenBucket;
  cooldownUntil: number;
  refusalLoggedAt: number;
}

export type AdmitVerdict = { ok: true } | { ok: false; retryAfterMs: number; message: string };

export class CredentialLimiter {
  readonly #entries = new Map<string, Entry>();

  constructor(
    readonly limits: CredentialLimits,
    readonly now: () => number = Date.now,
  ) {}

  /** Entries exist only for verified principals, so the map is bounded by the roster. */
  #entry(principal: string): Entry {
    let e = this.#entries.get(principal);
    if (!e) {
      const now = this.now();
      const l = this.limits;
      e = {
        events: new TokenBucket(l.ratePerSec, l.burst, now),
        // Refilled ten times slower than events: a link sending at even twice its rate is cut
        // within a minute or so, one at many times its rate at once.
        strikes: new TokenBucket(l.ratePerSec / 10, l.burst * FLOOD_BURSTS, now),
        connects: new TokenBucket(l.connectPerMin / 60, l.connectBurst, now),
        cooldownUntil: 0,
        refusalLoggedAt: Number.NEGATIVE_INFINITY,
      };
      this.#entries.set(principal, e);
    }
    return e;
  }

  /** A new socket on this credential, which already has `open` sockets: within the cap and the connection rate? */
  admit(principal: string, open: number): AdmitVerdict {
    const e = this.#entry(principal);
    const now = this.now();
    if (open >= this.limits.maxSockets)
      return {
        ok: false,
        retryAfterMs: 5000,
        message: `this link already has ${open} connections open (at most ${this.limits.maxSockets})`,
      };
    if (!e.connects.take(now))
      return { ok: false, retryAfterMs: e.connects.waitMs(now), message: 'this link connects too often' };
    return { ok: true };
  }

  /**
   * One event from any socket of this credential: 'ok' within the rate; 'refuse' beyond it;
   * 'cut' when the credential keeps sending far past its limit (more than FLOOD_BURSTS bursts of
   * refusals): the socket is then disconnected, and reconnecting is bounded by the connection rate.
   */
  allow(principal: string): 'ok' | 'refuse' | 'cut' {
    const e = this.#entry(principal);
    const now = this.now();
    if (e.events.take(now)) return 'ok';
    return e.strikes.take(now) ? 'refuse' : 'cut';
  }

  /** Milliseconds this credential must still wait before requesting the floor again (0: it may). */
  requestCooldown(principal: string): number {
    return Math.max(0, (this.#entries.get(principal)?.cooldownUntil ?? 0) - this.now());
  }

  /** Whether to log a refused connection of this credential: at most once every 10 s. */
  logRefusal(principal: string): boolean {
    const e = this.#entry(principal);
    const now = this.now();
    if (now - e.refusalLoggedAt < 10_000) return false;
    e.refusalLoggedAt = now;
    return true;
  }

  /** A withdrawal starts the cooldown. */
  withdrew(principal: string): void {
    this.#entry(principal).cooldownUntil = this.now() + this.limits.requestCooldownMs;
  }
}
