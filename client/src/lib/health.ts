/**
 * A site's connection health as the consoles show it, without the DOM: the order of levels (for
 * sorting by trouble and for telling a worsening), the trail of samples a console keeps from
 * the server's pushes, the lines of a chart drawn from samples, the periods a site was not
 * good, and the alerts an operator must acknowledge. Unit-tested in tests/unit/health-view.test.ts.
 */
import type { HealthLevel, HealthReason, HealthSample, SiteHealth } from '../../../protocol/health';

export const LEVELS: readonly HealthLevel[] = ['good', 'degraded', 'poor', 'lost'];
export const REASONS: readonly HealthReason[] = [
  'loss',
  'rtt',
  'jitter',
  'score',
  'bitrate',
  'freeze',
  'silent',
  'heartbeat',
  'disconnected',
];

/** 0 for good up to 3 for lost: the higher, the more an operator must act on it. */
export function levelRank(level: HealthLevel): number {
  return LEVELS.indexOf(level);
}

/**
 * Trouble first: lost, poor, degraded, good, then sites with no figures yet; within a level the
 * higher loss, then the higher round trip time, first. 0 when nothing tells them apart (the
 * caller falls back to the roster's order).
 */
export function troubleCompare(a: SiteHealth | undefined, b: SiteHealth | undefined): number {
  const rank = (h: SiteHealth | undefined) => (h ? levelRank(h.level) : -1);
  const d = rank(b) - rank(a);
  if (d !== 0) return d;
  const fig = (h: SiteHealth | undefined, k: 'lossPct' | 'rttMs') => h?.last?.[k] ?? -1;
  return fig(b, 'lossPct') - fig(a, 'lossPct') || fig(b, 'rttMs') - fig(a, 'rttMs');
}

// ------------------------------------------------------------------ the trail of pushed samples

/** Ten minutes of samples at one every 2 s, with room to spare. */
export const TRAIL_MS = 10 * 60_000;
const TRAIL_MAX = 400;

/**
 * The samples a console has seen of one site, oldest first, bounded by age (from the newest)
 * and count. `version` changes with every sample taken, so a view redraws only then.
 */
export class HealthTrail {
  readonly #samples: HealthSample[] = [];
  #version = 0;

  constructor(
    readonly windowMs = TRAIL_MS,
    readonly max = TRAIL_MAX,
  ) {}

  get samples(): readonly HealthSample[] {
    return this.#samples;
  }

  get version(): number {
    return this.#version;
  }

  /** Takes a sample newer than the last one; false (and nothing changes) for one already seen. */
  add(sample: HealthSample): boolean {
    const last = this.#samples[this.#samples.length - 1];
    if (last && sample.t <= last.t) return false;
    this.#samples.push(sample);
    let drop = 0;
    while (
      drop < this.#samples.length - 1 &&
      (this.#samples.length - drop > this.max ||
        (this.#samples[drop] as HealthSample).t < sample.t - this.windowMs)
    )
      drop += 1;
    if (drop > 0) this.#samples.splice(0, drop);
    this.#version += 1;
    return true;
  }
}

/** Fetched history and the samples pushed since, in time order, each time once. */
export function mergeSamples(
  history: readonly HealthSample[],
  pushed: readonly HealthSample[],
): HealthSample[] {
  const byTime = new Map<number, HealthSample>();
  for (const s of history) byTime.set(s.t, s);
  for (const s of pushed) if (!byTime.has(s.t)) byTime.set(s.t, s);
  return [...byTime.values()].sort((a, b) => a.t - b.t);
}

// ------------------------------------------------------------------ chart lines

export type Figure = 'upKbps' | 'downKbps' | 'lossPct' | 'rttMs' | 'jitterMs' | 'score' | 'fps';

export interface PlotBox {
  /** Left, right, top and bottom edges, in the chart's units. */
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** The time at the left and right edges. */
  t0: number;
  t1: number;
  /** The value at the bottom edge is 0; at the top edge, this (larger values are clipped). */
  max: number;
  /** Samples further apart than this are not joined: the site was not sampled in between. */
  gapMs?: number;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/**
 * An SVG path ("M x y L x y …") of one figure of the samples: x by time, y by value, a break
 * where a figure is missing or samples are far apart. Points on a flat stretch are left out, so
 * a figure that does not change draws the same path however many samples it has: a row whose
 * site's figures hold still is not touched by the next push.
 */
export function linePath(samples: readonly HealthSample[], figure: Figure, box: PlotBox): string {
  const gapMs = box.gapMs ?? 15_000;
  const span = box.t1 - box.t0;
  const x = (t: number) => round1(span > 0 ? box.x0 + ((t - box.t0) / span) * (box.x1 - box.x0) : box.x1);
  const y = (v: number) =>
    round1(box.y1 - (Math.min(Math.max(v, 0), box.max) / (box.max || 1)) * (box.y1 - box.y0));
  const runs: [number, number][][] = [];
  let run: [number, number][] | null = null;
  let prevT = -Infinity;
  for (const s of samples) {
    const v = s[figure];
    if (v === null || !Number.isFinite(v) || s.t - prevT > gapMs) run = null;
    prevT = s.t;
    if (v === null || !Number.isFinite(v)) continue;
    if (!run) runs.push((run = []));
    const p: [number, number] = [x(s.t), y(v)];
    const a = run[run.length - 2];
    const b = run[run.length - 1];
    // b lies between a and p on a level line: p replaces it.
    if (a && b && a[1] === b[1] && b[1] === p[1]) run[run.length - 1] = p;
    else run.push(p);
  }
  return runs
    .map((r) => {
      // A lone point is drawn as a short dash, so it can be seen.
      const [first] = r as [[number, number]];
      const pts: [number, number][] = r.length === 1 ? [[round1(first[0] - 2), first[1]], first] : r;
      return pts.map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${px} ${py}`).join(' ');
    })
    .join(' ');
}

/** A round ceiling for a chart's scale: 1, 2 or 5 times a power of ten, at least `floor`. */
export function niceMax(value: number, floor = 1): number {
  const v = Math.max(value, floor);
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** The largest value of a figure in the samples (0 when none). */
export function maxOf(samples: readonly HealthSample[], figure: Figure): number {
  let m = 0;
  for (const s of samples) {
    const v = s[figure];
    if (v !== null && Number.isFinite(v) && v > m) m = v;
  }
  return m;
}

/**
 * The sparkline of a table row: what the site sends us (kbit/s, its own scale) and its loss
 * (0–20 %), from its first measured sample to its last. Samples with neither figure before and
 * after (not connected yet, or gone) do not stretch the axis: a site that is away, or steady
 * since it came, keeps the same line push after push.
 */
export function sparkPaths(
  samples: readonly HealthSample[],
  width: number,
  height: number,
): { up: string; loss: string } {
  const measured = (s: HealthSample) => s.upKbps !== null || s.lossPct !== null;
  const from = samples.findIndex(measured);
  let to = samples.length - 1;
  while (to > from && !measured(samples[to] as HealthSample)) to -= 1;
  const first = samples[from];
  const last = samples[to];
  if (from < 0 || !first || !last) return { up: '', loss: '' };
  const box = { x0: 1, x1: width - 1, y0: 2, y1: height - 2, t0: first.t, t1: last.t };
  const span = samples.slice(from, to + 1);
  return {
    up: linePath(span, 'upKbps', { ...box, max: niceMax(maxOf(span, 'upKbps'), 10) }),
    loss: linePath(span, 'lossPct', { ...box, max: 20 }),
  };
}

// ------------------------------------------------------------------ periods of trouble

export interface TroublePeriod {
  from: number;
  to: number;
  level: HealthLevel;
  reasons: HealthReason[];
}

/**
 * The samples that were not good, as periods of one level and one set of reasons, newest first:
 * what the detail panel lists as "when, how bad, why".
 */
export function troublePeriods(samples: readonly HealthSample[], limit = 50): TroublePeriod[] {
  const out: TroublePeriod[] = [];
  let open: TroublePeriod | null = null;
  for (const s of samples) {
    if (s.level === 'good') {
      open = null;
      continue;
    }
    const reasons = [...s.reasons].sort();
    if (open && open.level === s.level && open.reasons.join() === reasons.join()) open.to = s.t;
    else out.push((open = { from: s.t, to: s.t, level: s.level, reasons }));
  }
  return out.reverse().slice(0, limit);
}

// ------------------------------------------------------------------ figures in words

const formats = new Map<string, Intl.NumberFormat>();

/** A figure for a table cell: '—' when not measured; kbit/s, ms and fps whole, loss to 0.1 below 10 %. */
export function formatFigure(value: number | null | undefined, figure: Figure, locale: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const digits = figure === 'lossPct' && value < 10 ? 1 : figure === 'score' && value % 1 !== 0 ? 1 : 0;
  const key = `${locale}/${digits}`;
  let f = formats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
    formats.set(key, f);
  }
  return f.format(value);
}

// ------------------------------------------------------------------ alerts

export interface HealthAlert {
  /** Unique on this page, in the order raised. */
  id: number;
  code: string;
  /** The worst level the site reached since the alert was raised. */
  level: HealthLevel;
  /** Its level now (good once recovered). */
  current: HealthLevel;
  /** Every reason seen while the alert was open, in the order first seen. */
  reasons: HealthReason[];
  /** Server time of the worsening that raised it. */
  raisedAt: number;
  /** Server time it went back to good; null while it is not. */
  recoveredAt: number | null;
}

export type AlertEvent = { kind: 'raised' | 'worsened' | 'updated' | 'recovered'; alert: HealthAlert };

/**
 * The operator's alerts. A site whose level gets worse than it was (good → degraded, degraded →
 * lost …) raises one; while unacknowledged it follows the site (a worse level, new reasons, its
 * recovery) and stays, even recovered, until the operator acknowledges it. The first level seen
 * of a site is where it starts, not news: a console opened during trouble shows it in the
 * table, not as a flood of alerts.
 */
export class HealthAlerts {
  readonly #levels = new Map<string, HealthLevel>();
  readonly #open = new Map<string, HealthAlert>();
  #next = 1;

  /** Takes the sites' health now; says what happened to the alerts. */
  observe(sites: readonly SiteHealth[]): AlertEvent[] {
    const events: AlertEvent[] = [];
    for (const h of sites) {
      const before = this.#levels.get(h.code);
      this.#levels.set(h.code, h.level);
      const reasons = h.last?.reasons ?? [];
      const at = before !== h.level ? h.since : (h.last?.t ?? h.since);
      const alert = this.#open.get(h.code);
      if (before === undefined) continue;
      const d = levelRank(h.level) - levelRank(before);
      if (d > 0) {
        if (!alert || alert.recoveredAt !== null) {
          const raised: HealthAlert = {
            id: this.#next++,
            code: h.code,
            level: h.level,
            current: h.level,
            reasons: [...new Set(reasons)],
            raisedAt: at,
            recoveredAt: null,
          };
          this.#open.set(h.code, raised);
          events.push({ kind: 'raised', alert: raised });
        } else {
          const worse = levelRank(h.level) > levelRank(alert.level);
          alert.current = h.level;
          if (worse) alert.level = h.level;
          addReasons(alert, reasons);
          events.push({ kind: worse ? 'worsened' : 'updated', alert });
        }
      } else if (alert && alert.recoveredAt === null) {
        if (h.level === 'good') {
          alert.current = 'good';
          alert.recoveredAt = at;
          events.push({ kind: 'recovered', alert });
        } else {
          const added = addReasons(alert, reasons);
          if (d < 0 || added) {
            alert.current = h.level;
            events.push({ kind: 'updated', alert });
          }
        }
      }
    }
    return events;
  }

  /** Newest first. */
  list(): HealthAlert[] {
    return [...this.#open.values()].sort((a, b) => b.raisedAt - a.raisedAt || b.id - a.id);
  }

  get count(): number {
    return this.#open.size;
  }

  ack(id: number): boolean {
    for (const [code, a] of this.#open)
      if (a.id === id) {
        this.#open.delete(code);
        return true;
      }
    return false;
  }

  ackAll(): number {
    const n = this.#open.size;
    this.#open.clear();
    return n;
  }
}

/** Adds reasons not yet on the alert; true when there was one. */
function addReasons(alert: HealthAlert, reasons: readonly HealthReason[]): boolean {
  const fresh = reasons.filter((r) => !alert.reasons.includes(r));
  alert.reasons.push(...fresh);
  return fresh.length > 0;
}
