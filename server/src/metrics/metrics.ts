/**
 * Metrics for the usual tools: a Prometheus registry of this application instance (never
 * prom-client's global one: tests run many servers in one process), with the Node process's
 * own figures (`hoinghi_process_*`, `hoinghi_nodejs_*`), gauges read at scrape time from
 * providers (site health, sessions, mediasoup workers) and counters fed by the code that sees
 * the events (joins, drops, commands, errors, worker deaths).
 *
 * Every label value comes from our own lists: site codes from the roster, roles, event names
 * from protocol/events.ts, error codes from ErrorCode, drop reasons from a fixed set. A string a
 * client sent never becomes a label (each new value is a new time series: a cardinality attack).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { CLIENT_EVENTS, ErrorCode } from '../../../protocol/events';
import type { HealthLevel, SiteHealth } from '../../../protocol/health';
import { ROLES, type Role } from '../core/model';
import { createLogger } from '../logger';

const log = createLogger('metrics');

export const LEVEL_VALUE: Record<HealthLevel, number> = { good: 0, degraded: 1, poor: 2, lost: 3 };

/**
 * Why a joined session ended: the server's own close reasons (protocol CloseReason), then
 * socket.io's disconnect reasons under shorter names. Anything else is `other`.
 */
const DROP_REASONS: Record<string, string> = {
  replaced: 'replaced',
  'server-shutdown': 'server-shutdown',
  'media-restart': 'media-restart',
  expired: 'expired',
  revoked: 'revoked',
  'transport close': 'transport-close',
  'transport error': 'transport-error',
  'ping timeout': 'ping-timeout',
  'parse error': 'parse-error',
  'client namespace disconnect': 'client-left',
  'server namespace disconnect': 'server-disconnect',
  'forced server close': 'server-disconnect',
  'forced close': 'server-disconnect',
  'server shutting down': 'server-shutdown',
};
export const DROP_LABELS: readonly string[] = [...new Set([...Object.values(DROP_REASONS), 'other'])];
const ERROR_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));
const EVENTS: ReadonlySet<string> = new Set(CLIENT_EVENTS);

/** CPU time a worker has used, ms (mediasoup's `worker.getResourceUsage()`). */
export interface CpuTime {
  ru_utime: number;
  ru_stime: number;
}

/** How many mediasoup objects a worker holds. */
export interface WorkerObjectCounts {
  routers: number;
  transports: number;
  producers: number;
  consumers: number;
}

/** A live mediasoup worker, as the metrics see it. */
export interface WorkerView {
  /** Its place in the pool (stays the same when it is replaced). */
  index: number;
  pid: number;
  usage(): Promise<CpuTime>;
  objects?(): WorkerObjectCounts;
}

export interface MetricsOptions {
  /** The roster's site codes: the only `site` label values (a health entry for any other is skipped). */
  sites: readonly string[];
  /** Monotonic clock, ms (CPU percent = CPU time used / time passed between two scrapes). */
  now?: () => number;
  /** Node process metrics with the `hoinghi_` prefix (default true). */
  processMetrics?: boolean;
}

/** A provider's answer; one that fails costs its own figures, not the whole scrape. */
function read<T>(what: string, source: () => T, fallback: T): T {
  try {
    return source();
  } catch (e) {
    log.warn(`the ${what} source failed`, { error: e });
    return fallback;
  }
}

type SiteFigure = 'upKbps' | 'downKbps' | 'lossPct' | 'rttMs' | 'jitterMs' | 'score' | 'fps';

export class Metrics {
  readonly registry = new Registry();
  readonly #sites: ReadonlySet<string>;
  readonly #now: () => number;
  #health: () => readonly SiteHealth[] = () => [];
  #healthNow: SiteHealth[] | undefined;
  #sessions: () => Iterable<Role> = () => [];
  #workers: () => readonly WorkerView[] = () => [];
  /** The last CPU reading of each worker process (by pid: a replaced worker starts afresh). */
  readonly #lastCpu = new Map<number, { at: number; cpuMs: number }>();

  readonly #joins: Counter<'role'>;
  readonly #drops: Counter<'reason'>;
  readonly #commands: Counter<'event' | 'outcome'>;
  readonly #errors: Counter<'code'>;
  readonly #workerDeaths: Counter;

  constructor(opts: MetricsOptions) {
    this.#sites = new Set(opts.sites);
    this.#now = opts.now ?? (() => performance.now());
    const registers = [this.registry];
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'hoinghi_' });

    // Sites, from the health source (figures of the newest sample; null figures are left out).
    const site = (name: string, help: string, figure: SiteFigure) =>
      new Gauge({
        name,
        help,
        labelNames: ['site'],
        registers,
        collect: () => {
          const g = this.registry.getSingleMetric(name) as Gauge<'site'>;
          g.reset();
          for (const h of this.#siteHealth()) {
            const v = h.last?.[figure];
            if (typeof v === 'number' && Number.isFinite(v)) g.set({ site: h.code }, v);
          }
        },
      });
    new Gauge({
      name: 'hoinghi_site_level',
      help: 'Health level of each site: 0 good, 1 degraded, 2 poor, 3 lost',
      labelNames: ['site'],
      registers,
      collect: () => {
        const g = this.registry.getSingleMetric('hoinghi_site_level') as Gauge<'site'>;
        g.reset();
        for (const h of this.#siteHealth()) g.set({ site: h.code }, LEVEL_VALUE[h.level]);
      },
    });
    site('hoinghi_site_up_kbps', 'Site to server bitrate, kbit/s (all its producers)', 'upKbps');
    site('hoinghi_site_down_kbps', 'Server to site bitrate, kbit/s (all its consumers)', 'downKbps');
    site('hoinghi_site_loss_percent', "Worst packet loss of the site's streams, %", 'lossPct');
    site('hoinghi_site_rtt_ms', 'Round trip time to the site, ms', 'rttMs');
    site('hoinghi_site_jitter_ms', "Jitter of the site's streams, ms", 'jitterMs');
    site('hoinghi_site_score', "Lowest mediasoup score of the site's producers, 0-10", 'score');
    site('hoinghi_site_fps', "Frames per second the site's browser decodes", 'fps');

    // Sessions.
    new Gauge({
      name: 'hoinghi_sessions',
      help: 'Joined sessions by role',
      labelNames: ['role'],
      registers,
      collect: () => {
        const g = this.registry.getSingleMetric('hoinghi_sessions') as Gauge<'role'>;
        const counts = new Map<Role, number>(ROLES.map((r) => [r, 0]));
        for (const role of read('sessions', this.#sessions, []))
          if (counts.has(role)) counts.set(role, (counts.get(role) ?? 0) + 1);
        for (const [role, n] of counts) g.set({ role }, n);
      },
    });

    // Workers.
    new Gauge({
      name: 'hoinghi_workers_alive',
      help: 'mediasoup workers up',
      registers,
      collect: () => {
        (this.registry.getSingleMetric('hoinghi_workers_alive') as Gauge).set(
          read('workers', this.#workers, []).length,
        );
      },
    });
    new Gauge({
      name: 'hoinghi_worker_cpu_percent',
      help: 'CPU used by each mediasoup worker between two scrapes, % of one core',
      labelNames: ['worker'],
      registers,
      collect: async () => {
        const g = this.registry.getSingleMetric('hoinghi_worker_cpu_percent') as Gauge<'worker'>;
        g.reset();
        const workers = read('workers', this.#workers, []);
        const alive = new Set(workers.map((w) => w.pid));
        for (const pid of this.#lastCpu.keys()) if (!alive.has(pid)) this.#lastCpu.delete(pid);
        await Promise.all(
          workers.map(async (w) => {
            let usage: CpuTime;
            try {
              usage = await w.usage();
            } catch (e) {
              log.warn('could not read a worker CPU time', { worker: w.index, error: e });
              return;
            }
            const at = this.#now();
            const cpuMs = usage.ru_utime + usage.ru_stime;
            const last = this.#lastCpu.get(w.pid);
            this.#lastCpu.set(w.pid, { at, cpuMs });
            // The first reading of a worker is only the baseline.
            if (last && at > last.at)
              g.set({ worker: String(w.index) }, Math.max(0, ((cpuMs - last.cpuMs) / (at - last.at)) * 100));
          }),
        );
      },
    });
    const objects = (name: string, help: string, key: keyof WorkerObjectCounts) =>
      new Gauge({
        name,
        help,
        labelNames: ['worker'],
        registers,
        collect: () => {
          const g = this.registry.getSingleMetric(name) as Gauge<'worker'>;
          g.reset();
          for (const w of read('workers', this.#workers, [])) {
            const counts = w.objects?.();
            if (counts) g.set({ worker: String(w.index) }, counts[key]);
          }
        },
      });
    objects('hoinghi_worker_routers', 'Routers on each mediasoup worker', 'routers');
    objects(
      'hoinghi_worker_transports',
      'Transports on each mediasoup worker (WebRTC and pipe)',
      'transports',
    );
    objects(
      'hoinghi_worker_producers',
      'Producers on each mediasoup worker (pipe producers too)',
      'producers',
    );
    objects(
      'hoinghi_worker_consumers',
      'Consumers on each mediasoup worker (pipe consumers too)',
      'consumers',
    );

    // Counters.
    this.#workerDeaths = new Counter({
      name: 'hoinghi_worker_deaths_total',
      help: 'mediasoup workers that died',
      registers,
    });
    this.#joins = new Counter({
      name: 'hoinghi_joins_total',
      help: 'Sessions joined, by role',
      labelNames: ['role'],
      registers,
    });
    this.#drops = new Counter({
      name: 'hoinghi_drops_total',
      help: 'Joined sessions that ended, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.#commands = new Counter({
      name: 'hoinghi_commands_total',
      help: 'Requests answered, by event and outcome (ok or error)',
      labelNames: ['event', 'outcome'],
      registers,
    });
    this.#errors = new Counter({
      name: 'hoinghi_errors_total',
      help: 'Errors answered to clients, by code',
      labelNames: ['code'],
      registers,
    });
    // Known series start at 0, so that rate() sees the first one.
    for (const role of ROLES) this.#joins.inc({ role }, 0);
    for (const reason of DROP_LABELS) this.#drops.inc({ reason }, 0);
    for (const code of ERROR_CODES) this.#errors.inc({ code }, 0);
  }

  /** The site health monitor's current view of every site (default: none). */
  setHealthSource(fn: () => readonly SiteHealth[]): void {
    this.#health = fn;
  }

  /** The role of every joined session. */
  setSessionSource(fn: () => Iterable<Role>): void {
    this.#sessions = fn;
  }

  /** The live mediasoup workers. */
  setWorkerSource(fn: () => readonly WorkerView[]): void {
    this.#workers = fn;
  }

  joined(role: Role): void {
    if (ROLES.includes(role)) this.#joins.inc({ role });
  }

  /** A joined session ended: a protocol CloseReason or a socket.io disconnect reason (else `other`). */
  dropped(reason: string): void {
    this.#drops.inc({ reason: DROP_REASONS[reason] ?? 'other' });
  }

  /**
   * A request was answered. Counted only for the protocol's client events; an error also counts
   * in `hoinghi_errors_total` under its code.
   */
  command(event: string, ok: boolean, code?: string): void {
    if (!EVENTS.has(event)) return;
    this.#commands.inc({ event, outcome: ok ? 'ok' : 'error' });
    if (!ok) this.error(code ?? ErrorCode.Internal);
  }

  /** An error answered to a client outside a known request (an unknown event, a refused connection). */
  error(code: string): void {
    this.#errors.inc({ code: ERROR_CODES.has(code) ? code : 'OTHER' });
  }

  workerDied(): void {
    this.#workerDeaths.inc();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of everything. */
  expose(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * The health source's entries for the roster's sites only, each site once. Read once per
   * scrape: the registry runs every collect() in one go, so the answer is kept until the next
   * microtask.
   */
  #siteHealth(): SiteHealth[] {
    if (this.#healthNow) return this.#healthNow;
    const all = read('health', this.#health, []);
    const seen = new Set<string>();
    this.#healthNow = all.filter((h) => {
      if (!this.#sites.has(h.code) || seen.has(h.code) || !Object.hasOwn(LEVEL_VALUE, h.level)) return false;
      seen.add(h.code);
      return true;
    });
    queueMicrotask(() => {
      this.#healthNow = undefined;
    });
    return this.#healthNow;
  }
}
