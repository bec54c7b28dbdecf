/**
 * GET /metrics through the real server: who may read it (an operator's, the chair's or the
 * co-chair's current credential; a scraper on this host only when allowed and not through a
 * proxy), that it is Prometheus text with the worker, session and site figures, that the
 * counters follow what happens (a hall joins, leaves, is refused), that no client string
 * becomes a label, and that every metric the Grafana dashboard queries is there.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SiteHealth } from '../../protocol/health';
import { type Participant, participant } from '../helpers/conferenceClient';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(60_000);

const DASHBOARD = path.join(__dirname, '..', '..', 'deploy', 'grafana', 'hoinghi-dashboard.json');

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the Prometheus text format (version 0.0.4) strictly: every line is a HELP, a TYPE or a
 * sample of a family whose TYPE came before it; label values unescaped. Throws on anything else.
 */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const SUFFIXES: Record<string, string[]> = {
    counter: [''],
    gauge: [''],
    histogram: ['_bucket', '_sum', '_count'],
    summary: ['', '_sum', '_count'],
    untyped: [''],
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = new RegExp(`^# HELP (${NAME}) .*$`).exec(line);
    if (m) continue;
    m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (m) {
      if (types.has(m[1] as string)) throw new Error(`TYPE given twice: ${line}`);
      types.set(m[1] as string, m[2] as string);
      continue;
    }
    m = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`).exec(line);
    if (!m) throw new Error(`not a Prometheus line: ${JSON.stringify(line)}`);
    const name = m[1] as string;
    const family = [...types].find(([f, type]) => SUFFIXES[type]?.some((s) => f + s === name));
    if (!family) throw new Error(`sample without a TYPE: ${line}`);
    const labels: Record<string, string> = {};
    let rest = m[2] ?? '';
    while (rest !== '') {
      const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\["\\n])*)"(,|$)/.exec(rest);
      if (!l) throw new Error(`bad labels in ${line}`);
      labels[l[1] as string] = (l[2] as string).replace(/\\(["\\n])/g, (_s, c: string) =>
        c === 'n' ? '\n' : c,
      );
      rest = rest.slice(l[0].length);
    }
    // As Prometheus reads it (Go's ParseFloat): NaN and Inf in any case (prom-client writes "Nan").
    const raw = m[3] as string;
    const inf = /^([+-]?)inf(inity)?$/i.exec(raw);
    const value = inf ? (inf[1] === '-' ? -Infinity : Infinity) : /^nan$/i.test(raw) ? NaN : Number(raw);
    if (Number.isNaN(value) && !/^nan$/i.test(raw)) throw new Error(`bad value in ${line}`);
    samples.push({ name, labels, value });
  }
  return { types, samples };
}

let server: TestServer;
const hall: Participant[] = [];

beforeAll(async () => {
  server = await startTestServer({ metrics: { allowLocalhost: false } });
});
afterAll(async () => {
  for (const p of hall) p.close();
  await server?.stop();
});

const scrape = (token?: string, headers: Record<string, string> = {}, url = server.url) =>
  fetch(`${url}/metrics`, {
    headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });

async function metrics(token = server.token('operator')): Promise<Sample[]> {
  const res = await scrape(token);
  expect(res.status).toBe(200);
  return parseExposition(await res.text()).samples;
}

/** The value of one sample, or undefined when it is not there. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}

describe('who may read the metrics', () => {
  it('refuses a request without a credential when loopback is not allowed: 401, a JSON error', async () => {
    const res = await scrape();
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await res.json()).toEqual({ error: { code: 'AUTH_REQUIRED', message: expect.any(String) } });
  });

  it('refuses a forged, expired or wrongly signed credential: 401 with its code', async () => {
    const forged = await scrape('not-a-token');
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({ error: { code: 'AUTH_INVALID_TOKEN' } });
    const expired = await scrape(server.token('operator', { ttlSec: 60, now: Date.now() - 3_600_000 }));
    expect(expired.status).toBe(401);
    expect(await expired.json()).toMatchObject({ error: { code: 'AUTH_EXPIRED' } });
    const otherSecret = await scrape(
      server.token('operator', { secret: 'another-secret-0123456789-abcdefghijkl' }),
    );
    expect(otherSecret.status).toBe(401);
  });

  it("refuses a hall's and the video wall's credentials: 403", async () => {
    for (const who of ['ha-noi', 'wall']) {
      const res = await scrape(server.token(who));
      expect(res.status).toBe(403);
      const body = (await res.json()) as { error: { code: string } };
      expect(body.error.code).toBe('FORBIDDEN');
    }
  });

  it("answers the operator's, the chair's and the co-chair's credential with Prometheus text", async () => {
    for (const who of ['operator', 'chair', 'cochair']) {
      const res = await scrape(server.token(who));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8$/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const { types, samples } = parseExposition(await res.text());
      expect(types.get('hoinghi_joins_total')).toBe('counter');
      expect(types.get('hoinghi_worker_cpu_percent')).toBe('gauge');
      expect(samples.length).toBeGreaterThan(20);
      // Node's own figures, prefixed, on this server's registry.
      expect(value(samples, 'hoinghi_process_cpu_seconds_total')).toBeGreaterThan(0);
      expect(samples.every((s) => s.name.startsWith('hoinghi_'))).toBe(true);
    }
  });
});

describe('what the metrics say', () => {
  it('the mediasoup worker: alive, its CPU between two scrapes, its router and transports', async () => {
    await metrics(); // the first reading of the worker's CPU time is its baseline
    const samples = await metrics();
    expect(value(samples, 'hoinghi_workers_alive')).toBe(1);
    expect(value(samples, 'hoinghi_worker_deaths_total')).toBe(0);
    const cpu = value(samples, 'hoinghi_worker_cpu_percent', { worker: '0' });
    expect(cpu).toBeGreaterThanOrEqual(0);
    expect(cpu).toBeLessThan(400);
    expect(value(samples, 'hoinghi_worker_routers', { worker: '0' })).toBeGreaterThanOrEqual(1);
    for (const name of ['transports', 'producers', 'consumers'])
      expect(value(samples, `hoinghi_worker_${name}`, { worker: '0' })).toBeGreaterThanOrEqual(0);
  });

  it('a hall that joins: joins and the session:join answer count, its session and transport show', async () => {
    const before = await metrics();
    const joins = value(before, 'hoinghi_joins_total', { role: 'site' }) ?? -1;
    const answered = value(before, 'hoinghi_commands_total', { event: 'session:join', outcome: 'ok' }) ?? 0;
    const transports = value(before, 'hoinghi_worker_transports', { worker: '0' }) ?? -1;
    expect(joins).toBe(0);
    expect(value(before, 'hoinghi_sessions', { role: 'site' })).toBe(0);

    const p = await participant(server, 'ha-noi');
    hall.push(p);
    const after = await metrics();
    expect(value(after, 'hoinghi_joins_total', { role: 'site' })).toBe(joins + 1);
    expect(value(after, 'hoinghi_joins_total', { role: 'chair' })).toBe(0);
    expect(value(after, 'hoinghi_commands_total', { event: 'session:join', outcome: 'ok' })).toBe(
      answered + 1,
    );
    expect(value(after, 'hoinghi_sessions', { role: 'site' })).toBe(1);
    // Its receiving transport, made at the join.
    expect(value(after, 'hoinghi_worker_transports', { worker: '0' })).toBe(transports + 1);

    await p.publishMic();
    const publishing = await metrics();
    expect(value(publishing, 'hoinghi_worker_producers', { worker: '0' })).toBeGreaterThanOrEqual(1);
    expect(value(publishing, 'hoinghi_commands_total', { event: 'producer:create', outcome: 'ok' })).toBe(1);
  });

  it('refusals count by event and code; an unknown event is counted but never named', async () => {
    const p = hall[0] as Participant;
    const before = await metrics();
    const forbidden = value(before, 'hoinghi_errors_total', { code: 'FORBIDDEN' }) ?? -1;
    const unknown = value(before, 'hoinghi_errors_total', { code: 'UNKNOWN_EVENT' }) ?? -1;
    expect(forbidden).toBeGreaterThanOrEqual(0);

    const grant = await p.send('floor:grant', { requestId: 'r1' });
    expect(grant).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const bogus = await p.send('evil:label-bomb-7f3a', {});
    expect(bogus).toMatchObject({ ok: false, error: { code: 'UNKNOWN_EVENT' } });

    const res = await scrape(server.token('operator'));
    const text = await res.text();
    const after = parseExposition(text).samples;
    expect(value(after, 'hoinghi_commands_total', { event: 'floor:grant', outcome: 'error' })).toBe(1);
    expect(value(after, 'hoinghi_errors_total', { code: 'FORBIDDEN' })).toBe(forbidden + 1);
    expect(value(after, 'hoinghi_errors_total', { code: 'UNKNOWN_EVENT' })).toBe(unknown + 1);
    expect(text).not.toContain('label-bomb');
  });

  it('a hall that leaves: a drop with its reason, and its session is gone', async () => {
    const p = hall.shift() as Participant;
    const before = await metrics();
    const drops = (s: Sample[]) =>
      s.filter((x) => x.name === 'hoinghi_drops_total').reduce((n, x) => n + x.value, 0);
    const dropped = drops(before);
    p.close();
    const after = await waitFor('the drop to be counted', async () => {
      const s = await metrics();
      return drops(s) === dropped + 1 ? s : undefined;
    });
    expect(value(after, 'hoinghi_sessions', { role: 'site' })).toBe(0);
    const reasons = after.filter((x) => x.name === 'hoinghi_drops_total' && x.value > 0).map((x) => x.labels);
    expect(reasons).toEqual([{ reason: expect.stringMatching(/^(client-left|transport-close)$/) }]);
  });

  it("the health source's sites: level and figures, a null figure left out, a code not in the roster never shown", async () => {
    const now = Date.now();
    const sample = { t: now, nacks: 0, plis: 0, freezes: 0, audioLevel: 0.1, reasons: [] };
    const health: SiteHealth[] = [
      {
        code: 'ha-noi',
        level: 'poor',
        since: now,
        last: {
          ...sample,
          level: 'poor',
          reasons: ['loss'],
          upKbps: 1800,
          downKbps: 2400,
          lossPct: 9.5,
          rttMs: 120,
          jitterMs: 14,
          score: 6,
          fps: null,
        },
      },
      { code: 'lao-cai', level: 'lost', since: now, last: null },
      { code: 'evil"}\nsite', level: 'good', since: now, last: null },
    ];
    server.app.metrics.setHealthSource(() => health);
    const res = await scrape(server.token('operator'));
    const text = await res.text();
    const samples = parseExposition(text).samples;
    expect(value(samples, 'hoinghi_site_level', { site: 'ha-noi' })).toBe(2);
    expect(value(samples, 'hoinghi_site_level', { site: 'lao-cai' })).toBe(3);
    expect(value(samples, 'hoinghi_site_up_kbps', { site: 'ha-noi' })).toBe(1800);
    expect(value(samples, 'hoinghi_site_down_kbps', { site: 'ha-noi' })).toBe(2400);
    expect(value(samples, 'hoinghi_site_loss_percent', { site: 'ha-noi' })).toBe(9.5);
    expect(value(samples, 'hoinghi_site_rtt_ms', { site: 'ha-noi' })).toBe(120);
    expect(value(samples, 'hoinghi_site_jitter_ms', { site: 'ha-noi' })).toBe(14);
    expect(value(samples, 'hoinghi_site_score', { site: 'ha-noi' })).toBe(6);
    expect(value(samples, 'hoinghi_site_fps', { site: 'ha-noi' })).toBeUndefined();
    expect(value(samples, 'hoinghi_site_up_kbps', { site: 'lao-cai' })).toBeUndefined();
    expect(text).not.toContain('evil');
  });
});

describe('the Grafana dashboard', () => {
  it('parses, uses the ${DS_PROMETHEUS} variable, and every metric it queries is served', async () => {
    const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as {
      panels: unknown[];
      templating: { list: { name: string; type: string; query?: unknown }[] };
    };
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', query: 'prometheus' }),
    );
    // Every query string in it (panel targets and template variables), found by walking the JSON.
    const queries: string[] = [];
    const datasources: unknown[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) return v.forEach(walk);
      if (typeof v !== 'object' || v === null) return;
      for (const [k, x] of Object.entries(v)) {
        if ((k === 'expr' || k === 'query' || k === 'definition') && typeof x === 'string') queries.push(x);
        if (k === 'datasource') datasources.push(x);
        walk(x);
      }
    };
    walk(dashboard);
    expect(datasources.length).toBeGreaterThan(10);
    for (const ds of datasources) expect(ds).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
    const names = new Set(queries.flatMap((q) => q.match(/\bhoinghi_[a-zA-Z0-9_]+/g) ?? []));
    for (const needed of [
      'hoinghi_site_level',
      'hoinghi_site_up_kbps',
      'hoinghi_site_down_kbps',
      'hoinghi_site_loss_percent',
      'hoinghi_site_rtt_ms',
      'hoinghi_worker_cpu_percent',
      'hoinghi_joins_total',
      'hoinghi_drops_total',
      'hoinghi_commands_total',
    ])
      expect(names).toContain(needed);

    // A hall joined (so that the command counters have samples), a site reported (so that the
    // site gauges have), two scrapes (the worker CPU has a baseline).
    hall.push(await participant(server, 'lao-cai'));
    const now = Date.now();
    server.app.metrics.setHealthSource(() => [
      {
        code: 'ha-noi',
        level: 'good',
        since: now,
        last: {
          t: now,
          level: 'good',
          reasons: [],
          upKbps: 1500,
          downKbps: 2000,
          lossPct: 0,
          rttMs: 20,
          jitterMs: 3,
          score: 10,
          nacks: 0,
          plis: 0,
          fps: 25,
          freezes: 0,
          audioLevel: 0.2,
        },
      },
    ]);
    await metrics();
    const served = new Set((await metrics()).map((s) => s.name));
    const missing = [...names].filter((n) => !served.has(n));
    expect(missing).toEqual([]);
  });
});

describe('a scraper on this host (metrics.allowLocalhost, the default)', () => {
  let local: TestServer;
  beforeAll(async () => {
    local = await startTestServer();
  });
  afterAll(async () => {
    await local?.stop();
  });

  it('is answered without a credential when it connects from loopback directly', async () => {
    expect(local.config.metrics.allowLocalhost).toBe(true);
    const res = await scrape(undefined, {}, local.url);
    expect(res.status).toBe(200);
    expect(parseExposition(await res.text()).types.get('hoinghi_workers_alive')).toBe('gauge');
  });

  it('is not when the request came through a proxy (a forwarding header): it then needs a credential', async () => {
    const proxied: Record<string, string>[] = [
      { 'x-forwarded-for': '203.0.113.7' },
      { forwarded: 'for=203.0.113.7;proto=https' },
      { 'x-real-ip': '203.0.113.7' },
    ];
    for (const header of proxied) {
      const res = await scrape(undefined, header, local.url);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'AUTH_REQUIRED' } });
    }
    const res = await scrape(local.token('operator'), { 'x-forwarded-for': '203.0.113.7' }, local.url);
    expect(res.status).toBe(200);
    const site = await scrape(local.token('ha-noi'), { 'x-forwarded-for': '203.0.113.7' }, local.url);
    expect(site.status).toBe(403);
  });
});

describe('a reissued link', () => {
  it("no longer reads the metrics: the operator's old credential is AUTH_REVOKED, the new one works", async () => {
    const old = server.token('operator');
    expect((await scrape(old)).status).toBe(200);
    const reissue = await fetch(`${server.url}/api/credentials/operator/reissue`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token('chair')}` },
    });
    expect(reissue.status).toBe(200);
    const { link } = (await reissue.json()) as { link: { url: string } };
    const fresh = new URL(link.url).hash.replace(/^#t=/, '');
    const refused = await scrape(old);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: 'AUTH_REVOKED' } });
    expect((await scrape(fresh)).status).toBe(200);
  });
});
