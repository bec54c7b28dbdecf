/**
 * Metrics without a server: label values only from our own lists, CPU percent from two
 * readings, null figures left out, loopback detection for the /metrics allowance, and the
 * config key with its environment variable.
 */
import type { SiteHealth } from '../../protocol/health';
import { ConfigError, loadConfig } from '../../server/src/config/config';
import { isLoopback } from '../../server/src/http/metricsApi';
import { Metrics, type WorkerView } from '../../server/src/metrics/metrics';

const SITES = ['trung-uong', 'ha-noi', 'lao-cai'];

function line(text: string, name: string, labels = ''): number | undefined {
  const prefix = `${name}${labels ? `{${labels}}` : ''} `;
  const l = text.split('\n').find((x) => x.startsWith(prefix));
  return l === undefined ? undefined : Number(l.slice(prefix.length));
}

describe('Metrics', () => {
  it('counts joins, drops, commands and errors under our own label values only', async () => {
    const m = new Metrics({ sites: SITES, processMetrics: false });
    m.joined('site');
    m.joined('operator');
    m.joined('intruder' as never);
    m.dropped('client namespace disconnect');
    m.dropped('revoked');
    m.dropped('"}\nhoinghi_fake 1');
    m.command('floor:request', true);
    m.command('floor:request', false, 'RATE_LIMITED');
    m.command('floor:grant', false, 'NOT_A_CODE');
    m.command('evil:event', true);
    m.command('evil:event', false, 'FORBIDDEN');
    m.error('UNKNOWN_EVENT');
    m.error('<script>');
    m.workerDied();
    const text = await m.expose();
    expect(line(text, 'hoinghi_joins_total', 'role="site"')).toBe(1);
    expect(line(text, 'hoinghi_joins_total', 'role="operator"')).toBe(1);
    expect(line(text, 'hoinghi_joins_total', 'role="chair"')).toBe(0);
    expect(line(text, 'hoinghi_drops_total', 'reason="client-left"')).toBe(1);
    expect(line(text, 'hoinghi_drops_total', 'reason="revoked"')).toBe(1);
    expect(line(text, 'hoinghi_drops_total', 'reason="other"')).toBe(1);
    expect(line(text, 'hoinghi_commands_total', 'event="floor:request",outcome="ok"')).toBe(1);
    expect(line(text, 'hoinghi_commands_total', 'event="floor:request",outcome="error"')).toBe(1);
    expect(line(text, 'hoinghi_commands_total', 'event="floor:grant",outcome="error"')).toBe(1);
    expect(line(text, 'hoinghi_errors_total', 'code="RATE_LIMITED"')).toBe(1);
    expect(line(text, 'hoinghi_errors_total', 'code="UNKNOWN_EVENT"')).toBe(1);
    // An unknown code counts as OTHER; an unknown event is not counted at all.
    expect(line(text, 'hoinghi_errors_total', 'code="OTHER"')).toBe(2);
    expect(line(text, 'hoinghi_errors_total', 'code="FORBIDDEN"')).toBe(0);
    expect(line(text, 'hoinghi_worker_deaths_total')).toBe(1);
    for (const bad of ['intruder', 'evil', 'script', 'hoinghi_fake', 'NOT_A_CODE'])
      expect(text).not.toContain(bad);
  });

  it('sites from the health source: the roster only, each once, a null figure left out', async () => {
    const m = new Metrics({ sites: SITES, processMetrics: false });
    const sample = (lossPct: number | null): SiteHealth['last'] => ({
      t: 1,
      level: 'degraded',
      reasons: ['loss'],
      upKbps: 900,
      downKbps: null,
      lossPct,
      rttMs: 40,
      jitterMs: null,
      score: 8,
      nacks: 1,
      plis: 0,
      fps: 24,
      freezes: 0,
      audioLevel: null,
    });
    m.setHealthSource(() => [
      { code: 'ha-noi', level: 'degraded', since: 1, last: sample(3) },
      { code: 'ha-noi', level: 'lost', since: 1, last: sample(50) },
      { code: 'nowhere', level: 'poor', since: 1, last: sample(9) },
      { code: 'lao-cai', level: 'nonsense' as never, since: 1, last: sample(9) },
    ]);
    const text = await m.expose();
    expect(line(text, 'hoinghi_site_level', 'site="ha-noi"')).toBe(1);
    expect(line(text, 'hoinghi_site_loss_percent', 'site="ha-noi"')).toBe(3);
    expect(line(text, 'hoinghi_site_up_kbps', 'site="ha-noi"')).toBe(900);
    expect(line(text, 'hoinghi_site_fps', 'site="ha-noi"')).toBe(24);
    expect(line(text, 'hoinghi_site_down_kbps', 'site="ha-noi"')).toBeUndefined();
    expect(line(text, 'hoinghi_site_jitter_ms', 'site="ha-noi"')).toBeUndefined();
    expect(text).not.toContain('nowhere');
    expect(text).not.toContain('lao-cai');
    // A site gone from the source is gone from the next scrape.
    m.setHealthSource(() => []);
    expect(await m.expose()).not.toContain('ha-noi');
  });

  it('worker CPU: percent of one core between two scrapes, the first reading only a baseline', async () => {
    let now = 1000;
    let cpu = { ru_utime: 500, ru_stime: 100 };
    const worker: WorkerView = {
      index: 2,
      pid: 4242,
      usage: () => Promise.resolve(cpu),
      objects: () => ({ routers: 1, transports: 5, producers: 3, consumers: 12 }),
    };
    const failing: WorkerView = { index: 3, pid: 4343, usage: () => Promise.reject(new Error('gone')) };
    const m = new Metrics({ sites: SITES, processMetrics: false, now: () => now });
    m.setWorkerSource(() => [worker, failing]);
    m.setSessionSource(() => ['site', 'site', 'chair']);
    let text = await m.expose();
    expect(line(text, 'hoinghi_worker_cpu_percent', 'worker="2"')).toBeUndefined();
    expect(line(text, 'hoinghi_workers_alive')).toBe(2);
    expect(line(text, 'hoinghi_worker_consumers', 'worker="2"')).toBe(12);
    expect(line(text, 'hoinghi_worker_routers', 'worker="3"')).toBeUndefined();
    expect(line(text, 'hoinghi_sessions', 'role="site"')).toBe(2);
    expect(line(text, 'hoinghi_sessions', 'role="chair"')).toBe(1);
    expect(line(text, 'hoinghi_sessions', 'role="wall"')).toBe(0);
    now += 2000;
    cpu = { ru_utime: 1200, ru_stime: 400 }; // 1000 ms of CPU in 2000 ms
    text = await m.expose();
    expect(line(text, 'hoinghi_worker_cpu_percent', 'worker="2"')).toBe(50);
    expect(line(text, 'hoinghi_worker_cpu_percent', 'worker="3"')).toBeUndefined();
  });

  it('a failing source costs its own figures, not the scrape', async () => {
    const m = new Metrics({ sites: SITES, processMetrics: false });
    m.setHealthSource(() => {
      throw new Error('broken');
    });
    m.setSessionSource(() => {
      throw new Error('broken');
    });
    m.joined('site');
    const text = await m.expose();
    expect(line(text, 'hoinghi_joins_total', 'role="site"')).toBe(1);
    expect(line(text, 'hoinghi_sessions', 'role="site"')).toBe(0);
  });

  it('two instances do not share a registry, and Node figures are prefixed', async () => {
    const a = new Metrics({ sites: SITES });
    const b = new Metrics({ sites: SITES });
    a.joined('wall');
    expect(line(await a.expose(), 'hoinghi_joins_total', 'role="wall"')).toBe(1);
    const text = await b.expose();
    expect(line(text, 'hoinghi_joins_total', 'role="wall"')).toBe(0);
    expect(text).toContain('hoinghi_process_cpu_user_seconds_total');
    expect(text).toContain('hoinghi_nodejs_eventloop_lag_seconds');
  });
});

describe('isLoopback()', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '::FFFF:127.0.0.5'])('%s is', (a) => {
    expect(isLoopback(a)).toBe(true);
  });
  it.each(['10.0.0.1', '128.0.0.1', '::2', '::ffff:10.0.0.1', '127.0.0.256', '1270.0.0.1', '', undefined])(
    '%s is not',
    (a) => {
      expect(isLoopback(a)).toBe(false);
    },
  );
});

describe('metrics.allowLocalhost', () => {
  it('is on by default, off with HOINGHI_METRICS_ALLOW_LOCALHOST=false', () => {
    expect(loadConfig({ env: {} }).metrics.allowLocalhost).toBe(true);
    expect(loadConfig({ env: { HOINGHI_METRICS_ALLOW_LOCALHOST: 'false' } }).metrics.allowLocalhost).toBe(
      false,
    );
    expect(loadConfig({ env: { HOINGHI_METRICS_ALLOW_LOCALHOST: 'TRUE' } }).metrics.allowLocalhost).toBe(
      true,
    );
  });

  it('refuses anything but true or false, naming the key', () => {
    expect(() => loadConfig({ env: { HOINGHI_METRICS_ALLOW_LOCALHOST: 'yes' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { HOINGHI_METRICS_ALLOW_LOCALHOST: 'yes' } })).toThrow(
      '"metrics.allowLocalhost"',
    );
    expect(() => loadConfig({ env: {}, overrides: { metrics: { allowLocalhost: 1 } } })).toThrow(
      '"metrics.allowLocalhost"',
    );
  });
});
