/**
 * Composition root: config → roster → secret → worker pool → conference media →
 * HTTP + socket.io. `stop()` is graceful: stop accepting, tell sessions, close media.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Server } from 'socket.io';
import { issueToken, loadSecret } from './auth/tokens';
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
import { Conference } from './signaling/Conference';
import { type IoServer, attachSignaling } from './signaling/signaling';

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
  role: 'chair' | 'site';
  url: string;
}

/** Every join link of the conference: the chair's (at the central bridge) first, then one per provincial site. */
export function joinLinks(config: Config, roster: Roster, secret: string, baseUrl: string): JoinLink[] {
  const link = (role: 'chair' | 'site', code: string) =>
    `${baseUrl}/${role}#t=${issueToken(secret, config.conference.id, { role, siteCode: code })}`;
  return [
    { site: roster.central, role: 'chair' as const, url: link('chair', roster.central.code) },
    ...roster.sites
      .filter((s) => s.kind !== 'central')
      .map((s) => ({ site: s, role: 'site' as const, url: link('site', s.code) })),
  ];
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
  readonly conference: Conference;
  readonly pool: WorkerPool;
  stop(): Promise<void>;
}

export async function startApplication(config: Config): Promise<Application> {
  const roster = loadRoster(config.conference.roster);
  const secret = loadSecret(config.auth.secret, resolveDataDir(config));
  const clientDir = path.join(PROJECT_ROOT, 'dist', 'client');
  if (!fs.existsSync(path.join(clientDir, 'site.html'))) {
    throw new Error(`the client is not built (${clientDir}); run "npm run build"`);
  }
  const announcedAddress = detectAnnouncedAddress(config);
  const pool = await WorkerPool.create({
    numWorkers: effectiveWorkers(config),
    listenIp: config.rtc.listenIp,
    announcedAddress,
    port: config.rtc.port,
    logLevel: config.mediasoup.logLevel,
  });
  let stopping = false;
  const media = await ConferenceMedia.create(pool);
  const conference = new Conference(config.conference.id, config.conference.title, roster, media);

  pool.on('workerReplaced', () => {
    if (stopping) return;
    // The conference's router lived on a worker that died: build a new one and ask
    // every session to join again (the clients do so on their own).
    void conference.media.rebuild().then(
      () => {
        for (const s of conference.sessions()) s.close('media-restart');
      },
      (e: unknown) => log.error('could not rebuild conference media', { error: e }),
    );
  });

  const app = createHttpApp({
    clientDir,
    isReady: () => pool.ready,
    isStopping: () => stopping,
    rtpCapabilities: () => conference.media.rtpCapabilities,
  });
  const httpServer = http.createServer(app);
  const io: IoServer = new Server(httpServer, {
    serveClient: false,
    maxHttpBufferSize: 256 * 1024,
    pingInterval: 5000,
    pingTimeout: 5000,
  });
  attachSignaling(io, conference, secret);

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.http.port, config.http.host, () => resolve());
  }).catch((e: Error) => {
    pool.close();
    throw new Error(`cannot listen on ${config.http.host}:${config.http.port}: ${e.message}`);
  });
  const port = (httpServer.address() as AddressInfo).port;
  const url = baseUrlOf(config, port);
  log.info('server ready', { url, workers: pool.size, announcedAddress, rtcPort: config.rtc.port });

  return {
    url,
    port,
    secret,
    conference,
    pool,
    async stop() {
      if (stopping) return;
      stopping = true;
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      for (const s of conference.sessions()) s.close('server-shutdown');
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      httpServer.closeAllConnections();
      conference.media.close();
      pool.close();
      await closed;
      log.info('server stopped');
    },
  };
}
