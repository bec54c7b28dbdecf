/**
 * One place for what a console knows: the roster from the join, presence per site, the
 * conference state and the server's clock, and each site's health (with the samples pushed
 * since the page opened, for its sparkline). Views subscribe and are called once per burst of
 * pushes (a microtask later), with what changed, and patch their own elements from here.
 */
import type { ConferenceState } from '../../../protocol/conference';
import type { JoinResult, SiteInfo, SitePresence } from '../../../protocol/events';
import type { SiteHealth } from '../../../protocol/health';
import type { ConferenceClient } from './ConferenceClient';
import { HealthTrail } from './health';
import { type SiteStatus, siteStatus } from './roster';

export interface Changes {
  /** The join answer arrived (again, after a reconnect): the roster may differ. */
  roster: boolean;
  conference: boolean;
  /** Codes whose presence changed. */
  presence: Set<string>;
  /** Codes whose health changed: a new level, or a new sample (chair, co-chair and operators get them). */
  health: Set<string>;
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
  readonly #health = new Map<string, SiteHealth>();
  readonly #trails = new Map<string, HealthTrail>();
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
    // Kept across a rejoin: the server's next push brings it up to date, and the trail goes on.
    client.on('health', (sites) => {
      for (const h of sites) {
        const before = this.#health.get(h.code);
        this.#health.set(h.code, h);
        let trail = this.#trails.get(h.code);
        if (!trail) this.#trails.set(h.code, (trail = new HealthTrail()));
        const sampled = h.last ? trail.add(h.last) : false;
        if (sampled || before?.level !== h.level || before.since !== h.since)
          this.#queue().health.add(h.code);
      }
    });
    client.on('conference', () => {
      this.#pushAt ??= performance.now();
      this.#queue().conference = true;
    });
  }

  /** Calls `fn` after every burst of changes (and now, if joined already). */
  subscribe(fn: Listener): void {
    this.#listeners.push(fn);
    if (this.#join) fn({ roster: true, conference: true, presence: new Set(), health: new Set() });
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

  /** A site's health now; undefined before the first push about it. */
  health(code: string): SiteHealth | undefined {
    return this.#health.get(code);
  }

  /** The samples of a site pushed since this page opened (the last ten minutes at most). */
  healthTrail(code: string): HealthTrail | undefined {
    return this.#trails.get(code);
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
      this.#pending = { roster: false, conference: false, presence: new Set(), health: new Set() };
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
