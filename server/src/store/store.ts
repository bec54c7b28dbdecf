/**
 * Persistence port: the conference state and its minutes. A change is committed (state and
 * new minutes together, atomically) before it is acknowledged to anyone.
 */
import type { ConferenceState, MinuteEntry } from '../core/model';

export interface Stored {
  state: ConferenceState;
  minutes: MinuteEntry[];
}

export interface ConferenceStore {
  load(conferenceId: string): Stored | null;
  /** Atomically replaces the state and appends the minutes. */
  commit(state: ConferenceState, minutes: MinuteEntry[]): void;
  minutes(conferenceId: string): MinuteEntry[];
  /** How many minutes lines are stored, without loading them. */
  minutesCount(conferenceId: string): number;
  close(): void;
}

/**
 * Credential generations: reissuing a principal's link raises its generation, and every link
 * of a lower generation is refused from then on (stored, so it survives a restart).
 */
export interface CredentialStore {
  /** Every principal whose generation is above 0. */
  credentialGenerations(): Map<string, number>;
  /** Raises the principal's generation by one and returns the new one. */
  bumpCredential(principal: string, at: number): number;
}

/** For unit tests and tools: the same contract, in memory. */
export class MemoryStore implements ConferenceStore, CredentialStore {
  readonly #data = new Map<string, Stored>();
  readonly #generations = new Map<string, number>();

  credentialGenerations(): Map<string, number> {
    return new Map(this.#generations);
  }

  bumpCredential(principal: string): number {
    const g = (this.#generations.get(principal) ?? 0) + 1;
    this.#generations.set(principal, g);
    return g;
  }

  minutesCount(id: string): number {
    return this.#data.get(id)?.minutes.length ?? 0;
  }

  load(id: string): Stored | null {
    const d = this.#data.get(id);
    return d ? structuredClone(d) : null;
  }

  commit(state: ConferenceState, minutes: MinuteEntry[]): void {
    const d = this.#data.get(state.id) ?? { state, minutes: [] };
    this.#data.set(state.id, {
      state: structuredClone(state),
      minutes: [...d.minutes, ...structuredClone(minutes)],
    });
  }

  minutes(id: string): MinuteEntry[] {
    return structuredClone(this.#data.get(id)?.minutes ?? []);
  }

  close(): void {}
}
