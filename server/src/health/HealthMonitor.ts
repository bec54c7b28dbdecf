/**
 * Every site's connection health, sampled every `health.sampleSec`: the SFU's figures of its
 * media (ConferenceMedia.siteStats) and its browser's own report (`stats:report`), judged
 * against the thresholds in the config into good / degraded / poor / lost with the reasons.
 *
 * Per site it keeps the samples of the last `historyMinutes` in memory (the history outlives
 * the site's session), and a one-minute summary of them in the store, so that after a restart
 * the control room still sees the last hour (coarser before the restart).
 *
 * It also watches media liveness: a site whose transports received bytes and then stop for
 * `lostAfterSec` is lost ('silent') even while its socket still answers.
 */
import type {
  ClientStatsReport,
  HealthLevel,
  HealthReason,
  HealthSample,
  SiteHealth,
} from '../../../protocol/health';
import type { Config } from '../config/config';
import { createLogger } from '../logger';
import type { RawSiteStats } from '../media/ConferenceMedia';

const log = createLogger('health');

export const LEVELS: readonly HealthLevel[] = ['good', 'degraded', 'poor', 'lost'];
const worse = (a: HealthLevel, b: HealthLevel) => (LEVELS.indexOf(b) > LEVELS.indexOf(a) ? b : a);

/** Where the monitor reads the sessions and media, and keeps its summaries. */
export interface HealthSources {
  siteCodes(): string[];
  /** 'up': a live session; 'lost': a session that stopped answering; 'none'. */
  session(code: string): 'up' | 'lost' | 'none';
  stats(code: string): Promise<RawSiteStats | null>;
  now(): number;
  store?: HealthSummaryStore;
}

/** One minute of a site's health, as stored. */
export interface HealthSummary {
  code: string;
  /** The minute's start, ms. */
  minute: number;
  sample: HealthSample;
}

export interface HealthSummaryStore {
  saveHealth(rows: HealthSummary[]): void;
  loadHealth(since: number): HealthSummary[];
}

type Thresholds = Config['health']['degraded'];

interface SiteRecord {
  samples: HealthSample[];
  level: HealthLevel;
  since: number;
  /** Media liveness: the last byte count seen, and when it last grew. */
  bytesIn: number | null;
  grewAt: number;
  flowed: boolean;
  report?: { at: number; r: ClientStatsReport };
  /** NACK/PLI counters at the last sample, for the interval's counts. */
  nacks: number | null;
  plis: number | null;
}

/** Judges one sample's figures against the thresholds: the level and why. */
export function judge(
  f: Pick<HealthSample, 'lossPct' | 'rttMs' | 'jitterMs' | 'score' | 'freezes'>,
  degraded: Thresholds,
  poor: Thresholds,
): { level: HealthLevel; reasons: HealthReason[] } {
  let level: HealthLevel = 'good';
  const reasons = new Set<HealthReason>();
  const check = (value: number | null, reason: HealthReason, key: keyof Thresholds, below = false) => {
    if (value === null) return;
    const past = (t: Thresholds) => (below ? value <= t[key] : value >= t[key]);
    if (past(poor)) level = worse(level, 'poor');
    else if (past(degraded)) level = worse(level, 'degraded');
    else return;
    reasons.add(reason);
  };
  check(f.lossPct, 'loss', 'lossPct');
  check(f.rttMs, 'rtt', 'rttMs');
  check(f.jitterMs, 'jitter', 'jitterMs');
  check(f.score, 'score', 'score', true);
  check(f.freezes, 'freeze', 'freezes');
  return { level, reasons: [...reasons] };
}

export class HealthMonitor {
  readonly #cfg: Config['health'];
  readonly #src: HealthSources;
  readonly #sites = new Map<string, SiteRecord>();
  #timer?: NodeJS.Timeout;
  #running = false;
  #listeners: ((sites: SiteHealth[]) => void)[] = [];
  /** The start of the minute being sampled (its summary is stored once it is over). */
  #minute = 0;

  constructor(cfg: Config['health'], src: HealthSources) {
    this.#cfg = cfg;
    this.#src = src;
    // The last hour from the store: what was seen before a restart.
    try {
      const since = src.now() - cfg.historyMinutes * 60_000;
      for (const row of src.store?.loadHealth(since) ?? []) this.#record(row.code).samples.push(row.sample);
    } catch (e) {
      log.error('loading the stored health history failed', { error: e });
    }
  }

  /** Starts sampling; `onSample` hears every site's health after each round. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.sample(), this.#cfg.sampleSec * 1000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#flush(true);
  }

  onSample(fn: (sites: SiteHealth[]) => void): void {
    this.#listeners.push(fn);
  }

  /** A site's browser's own figures (validated at the edge). */
  report(code: string, r: ClientStatsReport): void {
    this.#record(code).report = { at: this.#src.now(), r };
  }

  /** Whether the site's media stopped after flowing, for `lostAfterSec`. */
  mediaSilent(code: string): boolean {
    const rec = this.#sites.get(code);
    return Boolean(rec?.flowed && this.#src.now() - rec.grewAt >= this.#cfg.lostAfterSec * 1000);
  }

  current(): SiteHealth[] {
    return this.#src.siteCodes().map((code) => {
      const rec = this.#sites.get(code);
      return {
        code,
        level: rec?.level ?? 'lost',
        since: rec?.since ?? 0,
        last: rec?.samples[rec.samples.length - 1] ?? null,
      };
    });
  }

  history(code: string): HealthSample[] {
    return [...(this.#sites.get(code)?.samples ?? [])];
  }

  /** One round: every site measured and judged. Rounds never overlap. */
  async sample(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      const codes = this.#src.siteCodes();
      const raw = await Promise.all(codes.map((c) => this.#src.stats(c).catch(() => null)));
      const now = this.#src.now();
      codes.forEach((code, i) => this.#add(code, raw[i] ?? null, now));
      this.#flush(false);
      const sites = this.current();
      for (const fn of this.#listeners) fn(sites);
    } catch (e) {
      log.error('sampling health failed', { error: e });
    } finally {
      this.#running = false;
    }
  }

  #record(code: string): SiteRecord {
    let rec = this.#sites.get(code);
    if (!rec) {
      rec = {
        samples: [],
        level: 'lost',
        since: 0,
        bytesIn: null,
        grewAt: 0,
        flowed: false,
        nacks: null,
        plis: null,
      };
      this.#sites.set(code, rec);
    }
    return rec;
  }

  #add(code: string, raw: RawSiteStats | null, now: number): void {
    const rec = this.#record(code);
    const session = this.#src.session(code);
    // Media liveness from the bytes its transports received (RTP and RTCP both count).
    if (raw && session !== 'none') {
      // (Fewer bytes than before: new transports, after a media restart; counting starts again.)
      if (rec.bytesIn === null || raw.bytesIn !== rec.bytesIn) {
        if (rec.bytesIn !== null && raw.bytesIn > rec.bytesIn) rec.flowed = true;
        rec.grewAt = now;
      }
      rec.bytesIn = raw.bytesIn;
    } else {
      rec.bytesIn = null;
      rec.flowed = false;
      rec.grewAt = now;
    }
    // A browser's report speaks for its live session only: a site gone has no figures of its own.
    if (session !== 'up') delete rec.report;
    const fresh = rec.report && now - rec.report.at <= this.#cfg.sampleSec * 2000 ? rec.report.r : null;
    const nacks = raw ? raw.nacks : null;
    const plis = raw ? raw.plis : null;
    const delta = (cur: number | null, prev: number | null) =>
      cur === null ? null : prev === null || cur < prev ? 0 : cur - prev;
    const s: HealthSample = {
      t: now,
      level: 'good',
      reasons: [],
      upKbps: raw ? Math.round(raw.upBps / 1000) : null,
      downKbps: raw ? Math.round(raw.downBps / 1000) : null,
      lossPct:
        raw && (raw.upLossPct !== null || raw.downLossPct !== null)
          ? round1(Math.max(raw.upLossPct ?? 0, raw.downLossPct ?? 0))
          : null,
      rttMs:
        raw?.rttMs != null ? Math.round(raw.rttMs) : fresh?.rttMs != null ? Math.round(fresh.rttMs) : null,
      jitterMs: raw?.jitterMs ?? null,
      score: raw?.score ?? null,
      nacks: delta(nacks, rec.nacks),
      plis: delta(plis, rec.plis),
      fps: fresh ? round1(fresh.fps) : null,
      freezes: fresh ? fresh.freezes : null,
      audioLevel: fresh ? round1(fresh.audioLevel * 100) / 100 : null,
    };
    rec.nacks = nacks;
    rec.plis = plis;
    if (session === 'none') {
      s.level = 'lost';
      s.reasons = ['disconnected'];
    } else if (session === 'lost') {
      s.level = 'lost';
      s.reasons = ['heartbeat'];
    } else if (this.mediaSilent(code)) {
      s.level = 'lost';
      s.reasons = ['silent'];
    } else {
      const j = judge(s, this.#cfg.degraded, this.#cfg.poor);
      s.level = j.level;
      s.reasons = j.reasons;
    }
    // A site that never connected has no history worth keeping: one 'disconnected' sample at most.
    const last = rec.samples[rec.samples.length - 1];
    if (
      session === 'none' &&
      last &&
      last.level === 'lost' &&
      last.reasons[0] === 'disconnected' &&
      rec.level === 'lost'
    ) {
      last.t = now;
    } else {
      rec.samples.push(s);
    }
    if (s.level !== rec.level || rec.since === 0) {
      if (rec.since !== 0 && LEVELS.indexOf(s.level) > LEVELS.indexOf(rec.level))
        log.info('site health worse', { site: code, from: rec.level, to: s.level, reasons: s.reasons });
      rec.level = s.level;
      rec.since = now;
    }
    const keepFrom = now - this.#cfg.historyMinutes * 60_000;
    let drop = 0;
    while (drop < rec.samples.length && (rec.samples[drop] as HealthSample).t < keepFrom) drop += 1;
    if (drop) rec.samples.splice(0, drop);
  }

  /** Once a minute (and at stop): each site's worst sample of the minute gone by, into the store. */
  #flush(force: boolean): void {
    const store = this.#src.store;
    if (!store) return;
    const now = this.#src.now();
    const minute = Math.floor(now / 60_000) * 60_000;
    if (!force && minute === this.#minute) return;
    const from = this.#minute || minute - 60_000;
    this.#minute = minute;
    const rows: HealthSummary[] = [];
    for (const [code, rec] of this.#sites) {
      const inMinute = rec.samples.filter((x) => x.t >= from && x.t < (force ? now + 1 : minute));
      if (inMinute.length === 0) continue;
      rows.push({ code, minute: from, sample: summarize(inMinute) });
    }
    try {
      if (rows.length) store.saveHealth(rows);
    } catch (e) {
      log.error('storing the health summary failed', { error: e });
    }
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** A minute's samples as one: the worst level and its reasons, mean bitrates, worst figures. */
export function summarize(samples: HealthSample[]): HealthSample {
  const worst = samples.reduce((a, b) => (LEVELS.indexOf(b.level) > LEVELS.indexOf(a.level) ? b : a));
  const nums = (k: keyof HealthSample) =>
    samples.map((x) => x[k]).filter((v): v is number => typeof v === 'number');
  const mean = (k: keyof HealthSample) => {
    const v = nums(k);
    return v.length ? Math.round(v.reduce((a, b) => a + b, 0) / v.length) : null;
  };
  const maxOf = (k: keyof HealthSample) => {
    const v = nums(k);
    return v.length ? Math.max(...v) : null;
  };
  const minOf = (k: keyof HealthSample) => {
    const v = nums(k);
    return v.length ? Math.min(...v) : null;
  };
  const sumOf = (k: keyof HealthSample) => {
    const v = nums(k);
    return v.length ? v.reduce((a, b) => a + b, 0) : null;
  };
  return {
    t: (samples[samples.length - 1] as HealthSample).t,
    level: worst.level,
    reasons: worst.reasons,
    upKbps: mean('upKbps'),
    downKbps: mean('downKbps'),
    lossPct: maxOf('lossPct'),
    rttMs: maxOf('rttMs'),
    jitterMs: maxOf('jitterMs'),
    score: minOf('score'),
    nacks: sumOf('nacks'),
    plis: sumOf('plis'),
    fps: minOf('fps'),
    freezes: sumOf('freezes'),
    audioLevel: maxOf('audioLevel'),
  };
}
