/** A clock the test moves by hand; timers fire when it passes their time. */
import type { Clock } from '../../server/src/service/ConferenceService';

export class FakeClock implements Clock {
  #now: number;
  #timers: { at: number; fn: () => void; live: boolean }[] = [];

  constructor(start = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(at: number, fn: () => void): () => void {
    const t = { at, fn, live: true };
    this.#timers.push(t);
    return () => {
      t.live = false;
    };
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    this.#now += ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.live && t.at <= this.#now).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.live = false;
      due.fn();
    }
    this.#timers = this.#timers.filter((t) => t.live);
  }
}
