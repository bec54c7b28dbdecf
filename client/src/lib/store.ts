/**
 * One place for what a console knows: the roster from the join, presence per site, the
 * conference state and the server's clock. Views subscribe and are called once per burst of
 * pushes (a microtask later), with what changed, and patch their own elements from here.
 */
import type { ConferenceState } from '../../../protocol/conference';
import type { JoinResult, SiteInfo, SitePresence } from '../../../protocol/events';
import type { ConferenceClient } from './ConferenceClient';
import { type SiteStatus, siteStatus } from './roster';

export interface Changes {
  /** The join answer arrived (again, after a reconnect): the roster may differ. */
  roster: boolean;
  conference: boolean;
  /** Codes whose presence changed. */
  presence: Set<string>;
}

type Listener = (changes: Changes) => void;

/** Timings of state pushes to the next paint, for the consoles benchmark (bench/consoles.ts). */
export interface PaintProbe {
  /** ms from a push's arrival to the frame after the page patched itself. */
  samples: number[];
  /** ms the views took to patch the page for each of those pushes (script only, before layout). */
  patch: number[];
}

export class ConsoleStore {
  #join?: JoinResult;
  #halls: SiteInfo[] = [];
  readonly #presence = new Map<string, SitePresence>();
  readonly #names = new Map<string, string>();
  readonly #listeners: Listener[] = [];
  #pending: Changes | null = null;
  #pushAt: number | null = null;
  readonly probe: PaintProbe = { samples: [], patch: [] };

  constructor(readonly client: ConferenceClient) {
    // Beside the controller (bootConsole): tests and benchmarks read the page's store there.
    const page = (window as unknown as { hoinghi?: { store?: ConsoleStore } }).hoinghi;
    if (page) page.store = this;
    client.on('joined', (info) => {
      this.#join = info;
      this.#halls = info.sites.filter((s) => s.kind !== 'central');
      this.#names.clear();
      for (const s of info.sites) this.#names.set(s.code, s.name);
      this.#presence.clear();
      for (const p of info.presence) this.#presence.set(p.code, p);
      this.#queue().roster = true;
    });
    client.on('presence', (p) => {
      this.#presence.set(p.code, p);
      this.#queue().presence.add(p.code);
    });
    client.on('conference', () => {
      this.#pushAt ??= performance.now();
      this.#queue().conference = true;
    });
  }

  /** Calls `fn` after every burst of changes (and now, if joined already). */
  subscribe(fn: Listener): void {
    this.#listeners.push(fn);
    if (this.#join) fn({ roster: true, conference: true, presence: new Set() });
  }

  get joined(): JoinResult | undefined {
    return this.#join;
  }

  get state(): ConferenceState | undefined {
    return this.client.conference;
  }

  /** The halls (every site but the central bridge), in roster order. */
  get halls(): readonly SiteInfo[] {
    return this.#halls;
  }

  get central(): SiteInfo | undefined {
    return this.#join?.sites.find((s) => s.kind === 'central');
  }

  siteName(code: string): string {
    return this.#names.get(code) ?? code;
  }

  presence(code: string): SitePresence | undefined {
    return this.#presence.get(code);
  }

  status(code: string): SiteStatus {
    const state = this.state;
    return state ? siteStatus(state, code, this.#presence.get(code)) : 'offline';
  }

  serverNow(): number {
    return this.client.serverNow();
  }

  #queue(): Changes {
    if (!this.#pending) {
      this.#pending = { roster: false, conference: false, presence: new Set() };
      queueMicrotask(() => this.#flush());
    }
    return this.#pending;
  }

  #flush(): void {
    const changes = this.#pending;
    const at = this.#pushAt;
    this.#pending = null;
    this.#pushAt = null;
    if (!changes || !this.#join || !this.state) return;
    const start = performance.now();
    for (const fn of this.#listeners) fn(changes);
    if (at === null || this.probe.samples.length >= 10_000) return;
    this.probe.patch.push(performance.now() - start);
    // The frame after the patch: a rAF callback runs before that frame's paint, the task it
    // queues runs after it.
    requestAnimationFrame(() => setTimeout(() => this.probe.samples.push(performance.now() - at), 0));
  }
}
