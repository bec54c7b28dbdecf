/**
 * Runs the pure core for one conference: holds its state, applies commands with the clock,
 * commits to the store before anyone is told, arms the timer for the next deadline, and
 * tells listeners (signalling, media) what changed.
 */
import { EventEmitter } from 'node:events';
import type { Command, SystemEvent } from '../core/commands';
import {
  type ConferenceInit,
  type Outcome,
  createConference,
  execute,
  nextDeadline,
  observe,
  tick,
} from '../core/conference';
import type { Actor, ConferenceState, MinuteEntry } from '../core/model';
import { createLogger } from '../logger';
import type { ConferenceStore } from '../store/store';

const log = createLogger('conference');

export interface Clock {
  now(): number;
  setTimer(at: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(at, fn) {
    // setTimeout's limit is ~24.8 days; deadlines are minutes away, but clamp anyway.
    const t = setTimeout(fn, Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1));
    t.unref();
    return () => clearTimeout(t);
  },
};

interface ServiceEvents {
  changed: [state: ConferenceState, minutes: MinuteEntry[]];
}

export class ConferenceService extends EventEmitter<ServiceEvents> {
  #state: ConferenceState;
  readonly #store: ConferenceStore;
  readonly #clock: Clock;
  #cancelTimer: (() => void) | null = null;
  #stopped = false;

  private constructor(state: ConferenceState, store: ConferenceStore, clock: Clock) {
    super();
    this.#state = state;
    this.#store = store;
    this.#clock = clock;
  }

  /** Loads the conference from the store, or creates and stores it. Catches up on deadlines missed while down. */
  static open(init: ConferenceInit, store: ConferenceStore, clock: Clock = systemClock): ConferenceService {
    const stored = store.load(init.id);
    let state: ConferenceState;
    if (stored) {
      state = stored.state;
      log.info('conference restored', {
        id: init.id,
        phase: state.phase,
        queue: state.queue.length,
        onAir: state.onAir?.siteCode ?? null,
        minutes: stored.minutes.length,
      });
    } else {
      state = createConference(init);
      store.commit(state, []);
      log.info('conference created', { id: init.id, sites: state.sites.length });
    }
    const service = new ConferenceService(state, store, clock);
    service.#onTick();
    return service;
  }

  get state(): ConferenceState {
    return this.#state;
  }

  get now(): number {
    return this.#clock.now();
  }

  minutes(): MinuteEntry[] {
    return this.#store.minutes(this.#state.id);
  }

  /** Applies a command; throws CoreError (nothing stored, nothing changed) when refused. */
  execute(actor: Actor, cmd: Command): void {
    this.#apply(execute(this.#state, cmd, actor, this.#clock.now()));
  }

  observe(ev: SystemEvent): void {
    if (this.#state.phase === 'closed') return;
    this.#apply(observe(this.#state, ev, this.#clock.now()));
  }

  stop(): void {
    this.#stopped = true;
    this.#cancelTimer?.();
    this.#cancelTimer = null;
  }

  /** A timer on the conference's clock (credential expiry, …); returns its cancel function. */
  setTimer(at: number, fn: () => void): () => void {
    return this.#clock.setTimer(at, fn);
  }

  /** Minutes lines stored, counted by the store (not loaded). */
  minutesCount(): number {
    return this.#store.minutesCount(this.#state.id);
  }

  #apply(out: Outcome): void {
    if (out.state === this.#state && out.minutes.length === 0) return;
    // Stored before anyone hears of it: a crash after this line loses nothing acknowledged.
    this.#store.commit(out.state, out.minutes);
    this.#state = out.state;
    // From here on the change stands: arming the next deadline must not keep it from anyone.
    try {
      this.#arm();
    } catch (e) {
      log.error('arming the next deadline failed; retrying in 1 s', { error: e });
      this.#retryTick();
    }
    this.#notify(out.state, out.minutes);
  }

  #retryTick(): void {
    try {
      this.#cancelTimer?.();
      this.#cancelTimer = this.#clock.setTimer(this.#clock.now() + 1000, () => this.#onTick());
    } catch (e) {
      log.error('cannot set a timer', { error: e });
    }
  }

  /**
   * Tells every listener, each on its own: the change is already stored, so a listener that throws
   * (a bug in media or signalling) must neither keep the others from hearing of it nor turn the
   * stored change into an error for the caller or the timer. mediasoup's safeEmit is the model.
   */
  #notify(state: ConferenceState, minutes: MinuteEntry[]): void {
    for (const listener of this.listeners('changed')) {
      try {
        (listener as (s: ConferenceState, m: MinuteEntry[]) => void).call(this, state, minutes);
      } catch (e) {
        log.error('a listener of conference changes failed; the change stands', { error: e });
      }
    }
  }

  #onTick(): void {
    if (this.#stopped) return;
    try {
      this.#apply(tick(this.#state, this.#clock.now()));
      this.#arm();
    } catch (e) {
      // A bug in the core, a failed commit (nothing applied) or a failed arm (applied and told):
      // try again shortly rather than stop the process or forget the deadline.
      log.error('deadline processing failed; retrying in 1 s', { error: e });
      this.#retryTick();
    }
  }

  #arm(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = null;
    const at = nextDeadline(this.#state);
    if (at !== null && !this.#stopped) this.#cancelTimer = this.#clock.setTimer(at, () => this.#onTick());
  }
}
