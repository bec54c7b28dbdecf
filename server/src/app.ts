/**
 * Composition root: config → roster → secret → worker pool → conference media →
 * HTTP + socket.io. `stop()` is graceful: stop accepting, tell sessions, close media.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Server } from 'socket.io';
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
import { createHttpApp } from './http/httpApp';
import { createLogger } from './logger';
import { ConferenceMedia } from './media/ConferenceMedia';
import { WorkerPool } from './media/WorkerPool';
import { type Clock, ConferenceService, systemClock } from './service/ConferenceService';
import { type IoServer, type Signaling, attachSignaling } from './signaling/signaling';
import { SqliteStore } from './store/SqliteStore';

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

/** Every join link: the central bridge's people (chair, co-chair, operator, wall), then one per provincial site. */
export function joinLinks(
  config: Config,
  roster: Roster,
  secret: string,
  baseUrl: string,
  now = Date.now(),
): JoinLink[] {
  const ttl = config.auth.linkTtlHours * 3600;
  const expiresAt = new Date(now + ttl * 1000).toISOString();
  const conf = config.conference.id;
  const page = (role: Role) =>
    role === 'site' ? 'site' : role === 'wall' ? 'wall' : role === 'operator' ? 'operator' : 'chair';
  const central = CENTRAL_PEOPLE.map(({ role, sub }) => ({
    site: roster.central,
    role,
    person: sub,
    url: `${baseUrl}/${page(role)}#t=${issueCredential(secret, { conf, role, site: roster.central.code, sub }, ttl, now)}`,
    expiresAt,
  }));
  const sites = roster.sites
    .filter((s) => s.kind !== 'central')
    .map((s) => ({
      site: s,
      role: 'site' as const,
      person: null,
      url: `${baseUrl}/site#t=${issueCredential(secret, { conf, role: 'site', site: s.code, sub: s.code }, ttl, now)}`,
      expiresAt,
    }));
  return [...central, ...sites];
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
  media(): ConferenceMedia;
  stop(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
}

export async function startApplication(config: Config, opts: StartOptions = {}): Promise<Application> {
  const roster = loadRoster(config.conference.roster);
  const dataDir = resolveDataDir(config);
  const secret = loadSecret(config.auth.secret, dataDir);
  const clientDir = path.join(PROJECT_ROOT, 'dist', 'client');
  if (!fs.existsSync(path.join(clientDir, 'site.html'))) {
    throw new Error(`the client is not built (${clientDir}); run "npm run build"`);
  }
  const store = new SqliteStore(path.join(dataDir, 'hoinghi.sqlite'));
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
  const media = await ConferenceMedia.create(pool, service.state);
  const verify = (token: unknown) =>
    verifyCredential(secret, config.conference.id, roster, token, service.now);

  const app = createHttpApp({
    clientDir,
    isReady: () => pool.ready,
    isStopping: () => stopping,
    rtpCapabilities: () => media.rtpCapabilities,
    verify,
    state: () => service.state,
    minutes: () => service.minutes(),
    timezone: config.conference.timezone,
  });
  const httpServer = http.createServer(app);
  const io: IoServer = new Server(httpServer, {
    serveClient: false,
    maxHttpBufferSize: 256 * 1024,
    pingInterval: 5000,
    pingTimeout: 5000,
  });
  const signaling = attachSignaling(io, {
    secret,
    roster,
    service,
    media: () => media,
    rate: { perSec: config.signaling.ratePerSec, burst: config.signaling.burst },
  });

  pool.on('workerReplaced', () => {
    if (stopping) return;
    // The conference's router lived on a worker that died: build a new one and ask
    // every session to join again (the clients do so on their own).
    void media.rebuild().then(
      () => signaling.closeAll('media-restart'),
      (e: unknown) => log.error('could not rebuild conference media', { error: e }),
    );
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.http.port, config.http.host, () => resolve());
  }).catch((e: Error) => {
    pool.close();
    service.stop();
    store.close();
    throw new Error(`cannot listen on ${config.http.host}:${config.http.port}: ${e.message}`);
  });
  const port = (httpServer.address() as AddressInfo).port;
  const url = baseUrlOf(config, port);
  log.info('server ready', { url, workers: pool.size, announcedAddress, rtcPort: config.rtc.port });

  return {
    url,
    port,
    secret,
    roster,
    service,
    signaling,
    pool,
    media: () => media,
    async stop() {
      if (stopping) return;
      stopping = true;
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
