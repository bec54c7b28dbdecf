/**
 * The consoles' view of connection health, without a browser: sorting by trouble, the trail
 * of pushed samples, the lines of the sparkline and charts, the periods of trouble, figures in
 * words, and the operator's alerts (raised on worsening, kept until acknowledged, marked
 * recovered).
 */
import type { HealthLevel, HealthReason, HealthSample, SiteHealth } from '../../protocol/health';
import en from '../../client/src/i18n/en.json';
import vi from '../../client/src/i18n/vi.json';
import {
  HealthAlerts,
  HealthTrail,
  LEVELS,
  REASONS,
  formatFigure,
  levelRank,
  linePath,
  mergeSamples,
  niceMax,
  sparkPaths,
  troubleCompare,
  troublePeriods,
} from '../../client/src/lib/health';

function sample(t: number, fields: Partial<HealthSample> = {}): HealthSample {
  return {
    t,
    level: 'good',
    reasons: [],
    upKbps: 1200,
    downKbps: 3000,
    lossPct: 0,
    rttMs: 40,
    jitterMs: 3,
    score: 10,
    nacks: 0,
    plis: 0,
    fps: 25,
    freezes: 0,
    audioLevel: 0.1,
    ...fields,
  };
}

function site(
  code: string,
  level: HealthLevel,
  since: number,
  last: Partial<HealthSample> | null = {},
  t = since,
): SiteHealth {
  return { code, level, since, last: last ? sample(t, { level, ...last }) : null };
}

describe('levels and sorting by trouble', () => {
  it('orders the levels good < degraded < poor < lost', () => {
    expect(LEVELS.map(levelRank)).toEqual([0, 1, 2, 3]);
  });

  it('puts lost before poor before degraded before good before no figures, then the higher loss, then the higher RTT', () => {
    const sites = [
      site('good', 'good', 0),
      site('none', 'good', 0, null),
      site('poor-rtt', 'poor', 0, { lossPct: 1, rttMs: 900 }),
      site('lost', 'lost', 0, { lossPct: null, rttMs: null }),
      site('poor-loss', 'poor', 0, { lossPct: 9, rttMs: 100 }),
      site('degraded', 'degraded', 0, { lossPct: 3 }),
      site('poor-rtt-less', 'poor', 0, { lossPct: 1, rttMs: 850 }),
    ];
    const unknown = undefined;
    const order = [...sites, unknown]
      .sort((a, b) => troubleCompare(a, b))
      .map((h) => (h ? h.code : 'unknown'));
    expect(order).toEqual([
      'lost',
      'poor-loss',
      'poor-rtt',
      'poor-rtt-less',
      'degraded',
      'good',
      'none',
      'unknown',
    ]);
    expect(troubleCompare(site('a', 'good', 0), site('b', 'good', 5))).toBe(0);
  });
});

describe('the trail of pushed samples', () => {
  it('takes each sample once, in time order, and counts versions only for new samples', () => {
    const trail = new HealthTrail();
    expect(trail.add(sample(1000))).toBe(true);
    expect(trail.add(sample(1000))).toBe(false);
    expect(trail.add(sample(500))).toBe(false);
    expect(trail.add(sample(3000))).toBe(true);
    expect(trail.samples.map((s) => s.t)).toEqual([1000, 3000]);
    expect(trail.version).toBe(2);
  });

  it('keeps the last ten minutes, and no more than its maximum count', () => {
    const trail = new HealthTrail(10 * 60_000, 1000);
    for (let t = 0; t <= 20 * 60_000; t += 2000) trail.add(sample(t));
    const ts = trail.samples.map((s) => s.t);
    expect(ts[0]).toBe(10 * 60_000);
    expect(ts[ts.length - 1]).toBe(20 * 60_000);
    const small = new HealthTrail(60 * 60_000, 5);
    for (let t = 0; t < 20; t += 1) small.add(sample(t));
    expect(small.samples.map((s) => s.t)).toEqual([15, 16, 17, 18, 19]);
  });

  it('merges the fetched history with the samples pushed since, each once', () => {
    const merged = mergeSamples([sample(1), sample(2), sample(3)], [sample(3), sample(4)]);
    expect(merged.map((s) => s.t)).toEqual([1, 2, 3, 4]);
  });
});

describe('chart lines', () => {
  const box = { x0: 0, x1: 100, y0: 0, y1: 20, t0: 0, t1: 10_000, max: 100 };

  it('draws x by time and y by value, clipped to the scale', () => {
    const d = linePath(
      [sample(0, { lossPct: 0 }), sample(5000, { lossPct: 50 }), sample(10_000, { lossPct: 500 })],
      'lossPct',
      box,
    );
    expect(d).toBe('M0 20 L50 10 L100 0');
  });

  it('breaks the line where a figure is missing or samples are far apart', () => {
    const samples = [
      sample(0, { rttMs: 10 }),
      sample(2000, { rttMs: 20 }),
      sample(4000, { rttMs: null }),
      sample(6000, { rttMs: 30 }),
      sample(8000, { rttMs: 40 }),
      sample(60_000, { rttMs: 50 }),
    ];
    const d = linePath(samples, 'rttMs', { ...box, t1: 60_000 });
    expect(d.split('M')).toHaveLength(4);
  });

  it('a figure that holds still draws the same path however many samples: an unchanged row is not touched', () => {
    const paths = [3, 10, 50, 300].map((n) => {
      const samples = Array.from({ length: n }, (_, i) => sample(i * 2000, { upKbps: 800, lossPct: 0 }));
      return sparkPaths(samples, 96, 24);
    });
    for (const p of paths) expect(p).toEqual(paths[0]);
    // 800 of a scale of 1000: four fifths of the way up.
    expect(paths[0]?.up).toBe('M1 6 L95 6');
  });

  it('a site away before and after is drawn over its measured samples only: more unmeasured ones change nothing', () => {
    const away = (t: number) => sample(t, { level: 'lost', upKbps: null, lossPct: null });
    const steady = Array.from({ length: 5 }, (_, i) => sample(10_000 + i * 2000, { upKbps: 500 }));
    const before = [away(0), away(2000), away(4000)];
    const after = [away(20_000), away(22_000)];
    const p = sparkPaths(steady, 96, 24);
    expect(sparkPaths([...before, ...steady], 96, 24)).toEqual(p);
    expect(sparkPaths([...before, ...steady, ...after], 96, 24)).toEqual(p);
    expect(sparkPaths([...before, ...after], 96, 24)).toEqual({ up: '', loss: '' });
  });

  it('draws a lone sample as a short dash, and nothing without samples', () => {
    expect(sparkPaths([sample(5000)], 96, 24).up).toBe('M93 10 L95 10');
    expect(sparkPaths([], 96, 24)).toEqual({ up: '', loss: '' });
  });

  it('rounds a scale up to 1, 2 or 5 times a power of ten', () => {
    expect([0, 3, 10, 11, 240, 501, 4999].map((v) => niceMax(v))).toEqual([1, 5, 10, 20, 500, 1000, 5000]);
    expect(niceMax(3, 100)).toBe(100);
  });
});

describe('periods of trouble', () => {
  it('groups the samples that were not good by level and reasons, newest first', () => {
    const samples = [
      sample(0),
      sample(2, { level: 'degraded', reasons: ['loss'] }),
      sample(4, { level: 'degraded', reasons: ['loss'] }),
      sample(6, { level: 'poor', reasons: ['rtt', 'loss'] }),
      sample(8, { level: 'poor', reasons: ['loss', 'rtt'] }),
      sample(10),
      sample(12, { level: 'lost', reasons: ['disconnected'] }),
    ];
    expect(troublePeriods(samples)).toEqual([
      { from: 12, to: 12, level: 'lost', reasons: ['disconnected'] },
      { from: 6, to: 8, level: 'poor', reasons: ['loss', 'rtt'] },
      { from: 2, to: 4, level: 'degraded', reasons: ['loss'] },
    ]);
    expect(troublePeriods([sample(0), sample(2)])).toEqual([]);
  });
});

describe('figures in words', () => {
  it('writes a dash when not measured, whole kbit/s and ms, loss to a tenth below 10 %, in the locale', () => {
    expect(formatFigure(null, 'rttMs', 'vi-VN')).toBe('—');
    expect(formatFigure(Number.NaN, 'rttMs', 'vi-VN')).toBe('—');
    expect(formatFigure(1234.6, 'upKbps', 'en-GB')).toBe('1,235');
    expect(formatFigure(1234.6, 'upKbps', 'vi-VN')).toBe('1.235');
    expect(formatFigure(2.46, 'lossPct', 'vi-VN')).toBe('2,5');
    expect(formatFigure(12.46, 'lossPct', 'en-GB')).toBe('12');
    expect(formatFigure(7, 'score', 'en-GB')).toBe('7');
    expect(formatFigure(24.9, 'fps', 'en-GB')).toBe('25');
  });

  it('names every level and reason in Vietnamese and English', () => {
    const keys = [...LEVELS.map((l) => `health.level.${l}`), ...REASONS.map((r) => `health.reason.${r}`)];
    for (const k of keys) {
      expect({ k, vi: typeof (vi as Record<string, string>)[k] }).toEqual({ k, vi: 'string' });
      expect({ k, en: typeof (en as Record<string, string>)[k] }).toEqual({ k, en: 'string' });
    }
    expect((vi as Record<string, string>)['health.level.good']).toBe('Tốt');
    expect((vi as Record<string, string>)['health.level.degraded']).toBe('Suy giảm');
    expect((vi as Record<string, string>)['health.level.poor']).toBe('Kém');
    expect((vi as Record<string, string>)['health.level.lost']).toBe('Mất kết nối');
  });

  it('knows every reason the protocol has', () => {
    // A reason added to protocol/health.ts must be added here (and named in both languages).
    const all: Record<HealthReason, true> = {
      loss: true,
      rtt: true,
      jitter: true,
      score: true,
      bitrate: true,
      freeze: true,
      silent: true,
      heartbeat: true,
      disconnected: true,
    };
    expect([...REASONS].sort()).toEqual(Object.keys(all).sort());
  });
});

describe("the operator's alerts", () => {
  it('the first level seen of a site is where it starts, not an alert', () => {
    const alerts = new HealthAlerts();
    expect(alerts.observe([site('a', 'lost', 0), site('b', 'poor', 0)])).toEqual([]);
    expect(alerts.count).toBe(0);
  });

  it('a site that gets worse raises an alert with its level, reasons and time', () => {
    const alerts = new HealthAlerts();
    alerts.observe([site('a', 'good', 0), site('b', 'good', 0)]);
    const events = alerts.observe([
      site('a', 'degraded', 3000, { reasons: ['loss'] }),
      site('b', 'good', 0, {}, 3000),
    ]);
    expect(events.map((e) => e.kind)).toEqual(['raised']);
    expect(alerts.list()).toEqual([
      {
        id: 1,
        code: 'a',
        level: 'degraded',
        current: 'degraded',
        reasons: ['loss'],
        raisedAt: 3000,
        recoveredAt: null,
      },
    ]);
  });

  it('follows the site while open: worse, better but not good, new reasons; one alert per site', () => {
    const alerts = new HealthAlerts();
    alerts.observe([site('a', 'good', 0)]);
    alerts.observe([site('a', 'degraded', 3000, { reasons: ['loss'] })]);
    const worse = alerts.observe([site('a', 'lost', 6000, { reasons: ['disconnected'] })]);
    expect(worse.map((e) => e.kind)).toEqual(['worsened']);
    const better = alerts.observe([site('a', 'poor', 9000, { reasons: ['rtt'] })]);
    expect(better.map((e) => e.kind)).toEqual(['updated']);
    // The same level with the same reasons is no news.
    expect(alerts.observe([site('a', 'poor', 9000, { reasons: ['rtt'] }, 12_000)])).toEqual([]);
    // Worse again, but not worse than the worst: updated, not worsened.
    expect(alerts.observe([site('a', 'lost', 15_000)]).map((e) => e.kind)).toEqual(['updated']);
    expect(alerts.count).toBe(1);
    expect(alerts.list()[0]).toMatchObject({
      level: 'lost',
      current: 'lost',
      reasons: ['loss', 'disconnected', 'rtt'],
      raisedAt: 3000,
      recoveredAt: null,
    });
  });

  it('a recovered site keeps its alert, marked recovered, until acknowledged', () => {
    const alerts = new HealthAlerts();
    alerts.observe([site('a', 'good', 0)]);
    alerts.observe([site('a', 'poor', 3000, { reasons: ['loss'] })]);
    const events = alerts.observe([site('a', 'good', 9000)]);
    expect(events.map((e) => e.kind)).toEqual(['recovered']);
    expect(alerts.list()[0]).toMatchObject({ level: 'poor', current: 'good', recoveredAt: 9000 });
    // Staying good changes nothing; it is still there.
    expect(alerts.observe([site('a', 'good', 9000, {}, 12_000)])).toEqual([]);
    expect(alerts.count).toBe(1);
  });

  it('a recovered site that gets worse again raises a new alert in place of the old one', () => {
    const alerts = new HealthAlerts();
    alerts.observe([site('a', 'good', 0)]);
    alerts.observe([site('a', 'poor', 3000)]);
    alerts.observe([site('a', 'good', 6000)]);
    const events = alerts.observe([site('a', 'degraded', 9000, { reasons: ['jitter'] })]);
    expect(events.map((e) => e.kind)).toEqual(['raised']);
    expect(alerts.list()).toEqual([
      expect.objectContaining({ id: 2, level: 'degraded', raisedAt: 9000, recoveredAt: null }),
    ]);
  });

  it('acknowledged alerts go; a site still bad raises no new one until it gets worse', () => {
    const alerts = new HealthAlerts();
    alerts.observe([site('a', 'good', 0), site('b', 'good', 0), site('c', 'good', 0)]);
    alerts.observe([site('a', 'degraded', 1000), site('b', 'poor', 2000), site('c', 'lost', 3000)]);
    expect(alerts.list().map((a) => a.code)).toEqual(['c', 'b', 'a']);
    const a = alerts.list().find((x) => x.code === 'a') as { id: number };
    expect(alerts.ack(a.id)).toBe(true);
    expect(alerts.ack(a.id)).toBe(false);
    expect(alerts.observe([site('a', 'degraded', 1000, {}, 4000)])).toEqual([]);
    expect(alerts.observe([site('a', 'poor', 5000)]).map((e) => e.kind)).toEqual(['raised']);
    expect(alerts.ackAll()).toBe(3);
    expect(alerts.count).toBe(0);
    expect(alerts.list()).toEqual([]);
  });
});
