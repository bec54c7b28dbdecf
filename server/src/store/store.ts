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
  close(): void;
}

/** For unit tests and tools: the same contract, in memory. */
export class MemoryStore implements ConferenceStore {
  readonly #data = new Map<string, Stored>();

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
