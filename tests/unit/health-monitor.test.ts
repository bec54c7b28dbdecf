/**
 * The health monitor without a server: levels by the config's thresholds, media silence after
 * flowing, the history kept and summarized per minute into SQLite and read back after a restart.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HealthSample } from '../../protocol/health';
import { loadConfig } from '../../server/src/config/config';
import { HealthMonitor, type HealthSources, judge, summarize } from '../../server/src/health/HealthMonitor';
import type { RawSiteStats } from '../../server/src/media/ConferenceMedia';
import { SqliteStore } from '../../server/src/store/SqliteStore';

const cfg = loadConfig({ env: {} }).health;
const T0 = 1_700_000_000_000;

const raw = (over: Partial<RawSiteStats> = {}): RawSiteStats => ({
  bytesIn: 1000,
  bytesOut: 1000,
  upBps: 800_000,
  downBps: 1_500_000,
  upLossPct: 0,
  downLossPct: 0,
  jitterMs: 5,
  rttMs: 30,
  score: 10,
  nacks: 0,
  plis: 0,
  transports: 2,
  producers: 2,
  ...over,
});

/** A monitor over one site whose figures and session the test sets, with a clock it moves. */
function rig(store?: SqliteStore) {
  const t = { now: T0, stats: raw() as RawSiteStats | null, session: 'up' as 'up' | 'lost' | 'none' };
  const src: HealthSources = {
    siteCodes: () => ['ha-noi'],
    session: () => t.session,
    stats: async () => t.stats,
    now: () => t.now,
    ...(store ? { store } : {}),
  };
  return { t, src, monitor: new HealthMonitor(cfg, src) };
}

describe('levels by the thresholds in the config', () => {
  const figures = (over: Partial<HealthSample>) => ({
    lossPct: 0,
    rttMs: 30,
    jitterMs: 5,
    score: 10,
    freezes: 0,
    ...over,
  });
  it('is good under every threshold, and the worst figure decides, with every reason named', () => {
    expect(judge(figures({}), cfg.degraded, cfg.poor)).toEqual({ level: 'good', reasons: [] });
    expect(judge(figures({ lossPct: cfg.degraded.lossPct }), cfg.degraded, cfg.poor).level).toBe('degraded');
    expect(judge(figures({ rttMs: cfg.poor.rttMs }), cfg.degraded, cfg.poor)).toEqual({
      level: 'poor',
      reasons: ['rtt'],
    });
    expect(judge(figures({ score: cfg.poor.score }), cfg.degraded, cfg.poor).level).toBe('poor');
    expect(
      judge(figures({ lossPct: cfg.degraded.lossPct, freezes: cfg.poor.freezes }), cfg.degraded, cfg.poor),
    ).toEqual({ level: 'poor', reasons: ['loss', 'freeze'] });
    // Figures not measured do not count.
    expect(judge(figures({ rttMs: null, score: null }), cfg.degraded, cfg.poor).level).toBe('good');
  });
});

describe('sampling', () => {
  it('is lost without a session, for no heartbeat, and when its media stops after flowing', async () => {
    const { t, monitor } = rig();
    await monitor.sample();
    expect(monitor.current()[0]).toMatchObject({ level: 'good', since: T0 });
    t.now += 3000;
    t.stats = raw({ bytesIn: 5000 });
    await monitor.sample(); // flowing
    for (let i = 1; i * 3000 < cfg.lostAfterSec * 1000; i += 1) {
      t.now += 3000;
      await monitor.sample();
      expect(monitor.current()[0]?.level).toBe('good'); // not yet
    }
    t.now += 3000;
    await monitor.sample();
    expect(monitor.current()[0]?.last?.reasons).toEqual(['silent']);
    t.stats = raw({ bytesIn: 9000 });
    t.now += 3000;
    await monitor.sample();
    expect(monitor.current()[0]?.level).toBe('good');
    t.session = 'lost';
    t.now += 3000;
    await monitor.sample();
    expect(monitor.current()[0]?.last).toMatchObject({ level: 'lost', reasons: ['heartbeat'] });
    t.session = 'none';
    t.now += 3000;
    await monitor.sample();
    expect(monitor.current()[0]?.last).toMatchObject({ level: 'lost', reasons: ['disconnected'] });
  });

  it("a site's browser report joins its figures while fresh, never once it is gone", async () => {
    const { t, monitor } = rig();
    monitor.report('ha-noi', { sendKbps: 900, recvKbps: 1200, fps: 24.6, freezes: 0, audioLevel: 0.3 });
    await monitor.sample();
    expect(monitor.current()[0]?.last).toMatchObject({ fps: 24.6, freezes: 0, audioLevel: 0.3 });
    t.now += cfg.sampleSec * 3000; // stale
    await monitor.sample();
    expect(monitor.current()[0]?.last?.fps).toBeNull();
    monitor.report('ha-noi', { sendKbps: 900, recvKbps: 1200, fps: 25, freezes: 0, audioLevel: 0.3 });
    t.session = 'none';
    await monitor.sample();
    expect(monitor.current()[0]?.last?.fps).toBeNull();
  });

  it('keeps the last historyMinutes, and a per-minute summary in SQLite that a restart reads back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-health-'));
    try {
      const store = new SqliteStore(path.join(dir, 'h.sqlite'));
      const { t, monitor } = rig(store);
      // 70 minutes of samples, the loss rising in the last one.
      for (let i = 0; i < (70 * 60) / 3; i += 1) {
        t.now = T0 + i * 3000;
        t.stats = raw({ bytesIn: 1000 + i, upLossPct: i > (69 * 60) / 3 ? cfg.poor.lossPct : 0 });
        await monitor.sample();
      }
      const hist = monitor.history('ha-noi');
      expect(hist[hist.length - 1]?.t).toBe(t.now);
      expect(t.now - (hist[0] as HealthSample).t).toBeLessThanOrEqual(cfg.historyMinutes * 60_000);
      expect(hist[hist.length - 1]?.level).toBe('poor');
      monitor.stop();
      store.close();
      // A restart: the summaries of the last hour are the history.
      const again = new SqliteStore(path.join(dir, 'h.sqlite'));
      const after = rig(again);
      after.t.now = t.now + 1000;
      const back = new HealthMonitor(cfg, after.src).history('ha-noi');
      expect(back.length).toBeGreaterThanOrEqual(cfg.historyMinutes - 1);
      expect(back.length).toBeLessThanOrEqual(cfg.historyMinutes + 1);
      expect(back[back.length - 1]?.level).toBe('poor');
      again.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('summarizes a minute by its worst level and figures, mean bit rates, summed counters', () => {
    const s = (over: Partial<HealthSample>): HealthSample => ({
      t: T0,
      level: 'good',
      reasons: [],
      upKbps: 100,
      downKbps: 200,
      lossPct: 0,
      rttMs: 20,
      jitterMs: 1,
      score: 10,
      nacks: 1,
      plis: 0,
      fps: 25,
      freezes: 0,
      audioLevel: 0.1,
      ...over,
    });
    expect(
      summarize([
        s({}),
        s({ t: T0 + 3000, level: 'degraded', reasons: ['loss'], lossPct: 3, upKbps: 300, nacks: 4 }),
      ]),
    ).toMatchObject({
      t: T0 + 3000,
      level: 'degraded',
      reasons: ['loss'],
      upKbps: 200,
      lossPct: 3,
      nacks: 5,
    });
  });
});
