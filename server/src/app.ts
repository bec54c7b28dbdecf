/**
 * Composition root: config → roster → secret → worker pool → conference media →
 * HTTP + socket.io. `stop()` is graceful: stop accepting, tell sessions, close media.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Server } from 'socket.io';
import { CredentialRegistry } from './auth/CredentialRegistry';
import { CENTRAL_PEOPLE, issueCredential, loadSecret, verifyCredential } from './auth/credentials';
import type { Role } from './core/model';
import {
  type Config,
  CONFIG_DIR,
  PROJECT_ROOT,
  detectAnnouncedAddress,
  effectiveWorkers,
  resolveDataDir,
} from './config/config';
import { type Roster, parseRoster } from './core/roster';
import { decksApi } from './decks/decksApi';
import { credentialsApi } from './http/credentialsApi';
import { createHttpApp } from './http/httpApp';
import { ingestApi } from './http/ingestApi';
import { metricsApi } from './http/metricsApi';
import { recordingsApi } from './http/recordingsApi';
import { rtpOutApi } from './http/rtpOutApi';
import { createLogger } from './logger';
import { ConferenceMedia } from './media/ConferenceMedia';
import { UdpMonitor } from './media/udpHealth';
import { WorkerPool } from './media/WorkerPool';
import { Metrics } from './metrics/metrics';
import { observeSockets } from './metrics/socketMetrics';
import { WorkerObjects } from './metrics/workerObjects';
import { type Clock, ConferenceService, systemClock } from './service/ConferenceService';
import { boundedParser } from './signaling/boundedParser';
import {
  type IceCandidateRewrite,
  type IoServer,
  type Signaling,
  attachSignaling,
} from './signaling/signaling';
import { ProgrammeRecorder } from './recording/ProgrammeRecorder';
import { Recordings } from './recording/Recordings';
import { StatementRecorder } from './recording/StatementRecorder';
import { watchIngests } from './recording/ingestWatch';
import { SqliteStore, storeFile } from './store/SqliteStore';

const log = createLogger('app');

export function loadRoster(name: string): Roster {
  const file = /[/\\]|\.json$/.test(name)
    ? path.resolve(name)
    : path.join(CONFIG_DIR, 'rosters', `${name}.json`);
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read roster "${name}" (${file}): ${(e as Error).message}`);
  }
  return parseRoster(data, file);
}

export interface JoinLink {
  site: { code: string; name: string };
  role: Role;
  person: string | null;
  url: string;
  expiresAt: string;
}

/** Who holds a link: the central bridge's people (chair, co-chair, operator, wall), then each provincial site. */
interface LinkHolder {
  principal: string;
  role: Role;
  site: JoinLink['site'];
  person: string | null;
}

function linkHolders(roster: Roster): LinkHolder[] {
  return [
    ...CENTRAL_PEOPLE.map(({ role, sub }) => ({ principal: sub, role, site: roster.central, person: sub })),
    ...roster.sites
      .filter((s) => s.kind !== 'central')
      .map((s) => ({ principal: s.code, role: 'site' as const, site: s, person: null })),
  ];
}

/** The principals that have a link: the central people and every provincial site. */
export function principals(roster: Roster): string[] {
  return linkHolders(roster).map((h) => h.principal);
}

/**
 * Join links at each principal's current generation (see CredentialRegistry): every one, or only
 * that of `only` (reissuing one link signs one credential, not 67).
 */
export function joinLinks(
  config: Config,
  roster: Roster,
  secret: string,
  baseUrl: string,
  now = Date.now(),
  generation: (principal: string) => number = () => 0,
  only?: string,
): JoinLink[] {
  const ttl = config.auth.linkTtlHours * 3600;
  const expiresAt = new Date(now + ttl * 1000).toISOString();
  const conf = config.conference.id;
  const page = (role: Role) =>
    role === 'site' ? 'site' : role === 'wall' ? 'wall' : role === 'operator' ? 'operator' : 'chair';
  return linkHolders(roster)
    .filter((h) => only === undefined || h.principal === only)
    .map(({ principal: sub, role, site, person }) => ({
      site,
      role,
      person,
      url: `${baseUrl}/${page(role)}#t=${issueCredential(secret, { conf, role, site: site.code, sub, gen: generation(sub) }, ttl, now)}`,
      expiresAt,
    }));
}

export function baseUrlOf(config: Config, port: number): string {
  if (config.http.publicUrl) return config.http.publicUrl.replace(/\/$/, '');
  const host = ['0.0.0.0', '::'].includes(config.http.host) ? 'localhost' : config.http.host;
  return `http://${host}:${port}`;
}

export interface Application {
  readonly url: string;
  readonly port: number;
  readonly secret: string;
  readonly roster: Roster;
  readonly service: ConferenceService;
  readonly signaling: Signaling;
  readonly pool: WorkerPool;
  /** Prometheus metrics (GET /metrics); the health monitor plugs in with setHealthSource. */
  readonly metrics: Metrics;
  readonly recordings: Recordings;
  /** Null when statements are not recorded (config recording.statements). */
  readonly statements: StatementRecorder | null;
  /** Null when the programme composite is turned off (config recording.programme). */
  readonly programme: ProgrammeRecorder | null;
  media(): ConferenceMedia;
  stop(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  /**
   * Rewrites the ICE candidates a session is given (by principal): the fault-injection tests
   * put a relay between a browser and the server this way (tests/helpers/relay.ts). A NAT
   * or a proxy in production is configured with `rtc.announcedAddress` instead.
   */
  iceCandidates?: IceCandidateRewrite;
}

export async function startApplication(config: Config, opts: StartOptions = {}): Promise<Application> {
  const roster = loadRoster(config.conference.roster);
  const dataDir = resolveDataDir(config);
  const secret = loadSecret(config.auth.secret, dataDir);
  const clientDir = path.join(PROJECT_ROOT, 'dist', 'client');
  if (!fs.existsSync(path.join(clientDir, 'site.html'))) {
    throw new Error(`the client is not built (${clientDir}); run "npm run build"`);
  }
  const store = new SqliteStore(storeFile(dataDir));
  const service = ConferenceService.open(
    {
      id: config.conference.id,
      title: config.conference.title,
      sites: roster.sites,
      chair: 'chair',
      settings: config.floor,
    },
    store,
    opts.clock ?? systemClock,
  );
  const announcedAddress = detectAnnouncedAddress(config);
  let pool: WorkerPool;
  try {
    pool = await WorkerPool.create({
      numWorkers: effectiveWorkers(config),
      listenIp: config.rtc.listenIp,
      announcedAddress,
      port: config.rtc.port,
      logLevel: config.mediasoup.logLevel,
    });
  } catch (e) {
    service.stop();
    store.close();
    throw e;
  }
  let stopping = false;
  const metrics = new Metrics({ sites: roster.sites.map((s) => s.code) });
  // Counted from the first router on: before the conference media makes any.
  const workerObjects = new WorkerObjects();
  for (const e of pool.entries()) workerObjects.track(e.worker);
  metrics.setWorkerSource(() =>
    pool.entries().map((e) => ({
      index: e.index,
      pid: e.worker.pid,
      usage: () => e.worker.getResourceUsage(),
      objects: () => workerObjects.counts(e.worker),
    })),
  );
  const udp = new UdpMonitor({
    workers: () => pool.entries().map((e) => ({ index: e.index, pid: e.worker.pid, udpPort: e.udpPort })),
    warn: (msg, fields) => log.warn(msg, fields),
  });
  udp.start();
  const media = await ConferenceMedia.create(pool, service.state, {
    ip: config.rtc.listenIp,
    ...(announcedAddress ? { announcedIp: announcedAddress } : {}),
    portMin: config.ingest.portMin,
    portMax: config.ingest.portMax,
  });
  const recordings = new Recordings({
    dir: config.recording.dir ? path.resolve(config.recording.dir) : path.join(dataDir, 'recordings'),
    conferenceId: config.conference.id,
    budgetMb: config.recording.budgetMb,
    minFreeMb: config.recording.minFreeMb,
    enabled: {
      statements: config.recording.statements,
      programme: config.recording.programme,
      stream: config.recording.streamUrl !== '',
    },
  });
  const baseUrl = () => {
    const addr = httpServer.address() as AddressInfo | null;
    return baseUrlOf(config, addr?.port ?? config.http.port);
  };
  const credentials = new CredentialRegistry(store);
  const verify = (token: unknown) =>
    verifyCredential(secret, config.conference.id, roster, token, service.now, credentials.generation);
  // A link reissued from the command line while the server runs is seen within a second.
  const refresher = setInterval(() => {
    try {
      credentials.refresh();
    } catch (e) {
      log.error('reading reissued links failed', { error: e });
    }
  }, 1000);
  refresher.unref();

  const app = createHttpApp({
    clientDir,
    isReady: () => pool.ready && media.workers === pool.size,
    isStopping: () => stopping,
    rtpCapabilities: () => media.rtpCapabilities,
    verify,
    state: () => service.state,
    minutes: () => service.minutes(),
    minutesCount: () => service.minutesCount(),
    mediaHealth: () => udp.sample(true),
    timezone: config.conference.timezone,
  });
  app.use(
    '/api/credentials',
    credentialsApi({
      verify,
      principals: new Set(principals(roster)),
      reissue: (principal) => {
        credentials.reissue(principal, Date.now());
        const [link] = joinLinks(
          config,
          roster,
          secret,
          baseUrl(),
          Date.now(),
          credentials.generation,
          principal,
        );
        return link as JoinLink;
      },
    }),
  );
  const decks = decksApi({
    dir: path.join(dataDir, 'decks'),
    limits: {
      maxBytes: config.decks.maxMb * 1024 * 1024,
      maxPages: config.decks.maxPages,
      timeoutMs: config.decks.convertTimeoutSec * 1000,
      memoryBytes: config.decks.convertMemoryMb * 1024 * 1024,
      widthPx: config.decks.pageWidth,
    },
    verify,
    added: (deck) => service.observe({ type: 'deck:added', deck }),
    now: () => Date.now(),
  });
  app.use('/api/decks', decks.api);
  app.get('/metrics', metricsApi({ verify, allowLocalhost: config.metrics.allowLocalhost, metrics }));
  app.use('/decks', decks.pages);
  const recordingRoutes = recordingsApi({ verify, recordings, secret });
  app.use('/api/recordings', recordingRoutes.api);
  app.use('/recordings', recordingRoutes.files);
  app.use(
    '/api/ingest',
    ingestApi({
      verify,
      sites: roster.sites,
      open: async (site, opts) => {
        const info = await media.openIngest(site, opts, () => {
          recordings.problem(
            'ingest',
            site.code,
            `the RTP ingest of ${site.name} was lost with its media worker; open it again`,
          );
          signaling.setIngest(site.code, false);
        });
        signaling.setIngest(site.code, true);
        return info;
      },
      get: (code) => media.ingest(code),
      close: (code) => {
        const closed = media.closeIngest(code);
        signaling.setIngest(code, false);
        return closed;
      },
    }),
  );
  // The programme over RTP to a hall's AV system (the composite runs while one is registered).
  app.use(
    '/api/rtp-out',
    rtpOutApi({
      verify,
      sites: roster.sites,
      set: (target) => programme?.setOutput(target) ?? null,
      get: (code) => programme?.output(code),
      remove: (code) => programme?.removeOutput(code) ?? false,
    }),
  );
  const httpServer = http.createServer(app);
  const io: IoServer = new Server(httpServer, {
    serveClient: false,
    // WebSocket only: no long-polling sessions to hold open, no HTTP upgrade path to abuse.
    transports: ['websocket'],
    // At most 3 arguments in a packet: socket.io spreads them onto the stack (boundedParser.ts).
    parser: boundedParser,
    maxHttpBufferSize: 256 * 1024,
    // A heartbeat several times within health.lostAfterSec, so that a silent session is seen
    // as lost in that time (signaling.ts, which holds its place); the socket itself is kept
    // twice as long, so a line that comes back after a short blackout resumes the same session.
    pingInterval: Math.min(5000, (config.health.lostAfterSec * 1000) / 4),
    pingTimeout: config.health.lostAfterSec * 2000,
  });
  const sig = config.signaling;
  const signaling = attachSignaling(io, {
    verify,
    credentials,
    roster,
    service,
    media: () => media,
    limits: {
      ratePerSec: sig.ratePerSec,
      burst: sig.burst,
      maxSockets: sig.maxSocketsPerCredential,
      connectPerMin: sig.connectPerMin,
      connectBurst: sig.connectBurst,
      requestCooldownMs: sig.requestCooldownSec * 1000,
    },
    metrics,
    health: config.health,
    healthStore: store,
    recordings,
    ...(opts.iceCandidates ? { iceCandidates: opts.iceCandidates } : {}),
  });
  observeSockets(io, metrics);
  const statements = config.recording.statements
    ? new StatementRecorder({
        media: () => media,
        service,
        recordings,
        ffmpeg: config.recording.ffmpeg,
        ffprobe: config.recording.ffprobe,
      })
    : null;
  if (statements) {
    service.on('changed', (state) => statements.follow(state));
    statements.follow(service.state);
  }
  const stopIngestWatch = watchIngests(() => media, recordings, config.health.lostAfterSec * 1000);
  const programme = config.recording.programme
    ? new ProgrammeRecorder({
        service,
        recordings,
        ffmpeg: config.recording.ffmpeg,
        ffprobe: config.recording.ffprobe,
        chromium: config.recording.chromium,
        streamUrl: config.recording.streamUrl,
        videoKbps: config.recording.videoKbps,
        // The page runs on this host: it is opened on this server's own address, with a
        // credential the server signs for it alone (role recorder, never a join link).
        pageUrl: () => {
          const addr = httpServer.address() as AddressInfo;
          const host = ['0.0.0.0', '::'].includes(config.http.host) ? '127.0.0.1' : config.http.host;
          const token = issueCredential(
            secret,
            { conf: config.conference.id, role: 'recorder', site: roster.central.code, sub: 'recorder' },
            7 * 24 * 3600,
          );
          return `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}/recorder#t=${token}`;
        },
      })
    : null;
  metrics.setSessionSource(() => signaling.sessions.all().map((s) => s.actor.role));
  metrics.setHealthSource(() => signaling.health.current());

  // A worker death takes only the sessions whose media it carried (they are asked to join
  // again); the replacement worker takes its share of the peers that join from then on.
  pool.on('workerDied', (index) => {
    metrics.workerDied();
    if (!stopping) media.workerDied(index);
  });
  pool.on('workerReplaced', (entry) => {
    workerObjects.track(entry.worker);
    if (stopping) return;
    media
      .addWorker(entry)
      .catch((e: unknown) =>
        log.error('could not put the new worker to use', { worker: entry.index, error: e }),
      );
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.http.port, config.http.host, () => resolve());
  }).catch((e: Error) => {
    clearInterval(refresher);
    udp.stop();
    pool.close();
    service.stop();
    store.close();
    throw new Error(`cannot listen on ${config.http.host}:${config.http.port}: ${e.message}`);
  });
  const port = (httpServer.address() as AddressInfo).port;
  // Listening now: the programme recorder can open its page (and resumes after a restart).
  if (programme) {
    service.on('changed', (state) => programme.follow(state));
    programme.follow(service.state);
  }
  const url = baseUrl();
  log.info('server ready', { url, workers: pool.size, announcedAddress, rtcPort: config.rtc.port });

  return {
    url,
    port,
    secret,
    roster,
    service,
    signaling,
    pool,
    metrics,
    recordings,
    statements,
    programme,
    media: () => media,
    async stop() {
      if (stopping) return;
      stopping = true;
      await Promise.all([statements?.close(), programme?.close()]);
      clearInterval(refresher);
      stopIngestWatch();
      udp.stop();
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      signaling.closeAll('server-shutdown');
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      httpServer.closeAllConnections();
      service.stop();
      media.close();
      pool.close();
      store.close();
      await closed;
      log.info('server stopped');
    },
  };
}
