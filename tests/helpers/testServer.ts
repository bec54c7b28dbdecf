/** Starts the real application (real mediasoup worker) on free loopback ports, for tests and benchmarks. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Application, type StartOptions, startApplication } from '../../server/src/app';
import { issueCredential } from '../../server/src/auth/credentials';
import type { Role } from '../../server/src/core/model';
import { type Config, loadConfig } from '../../server/src/config/config';
import { setLogLevel } from '../../server/src/logger';

export const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnop';

export interface TestServer {
  app: Application;
  config: Config;
  url: string;
  /** A credential: a site's (by code), or a central person's ('chair', 'cochair', 'operator', 'wall'). */
  token(
    who: string,
    opts?: { role?: Role; ttlSec?: number; now?: number; conf?: string; secret?: string },
  ): string;
  dataDir: string;
  stop(): Promise<void>;
}

export function testConfig(
  overrides: Record<string, unknown> = {},
  existingDataDir?: string,
): { config: Config; dataDir: string } {
  const dataDir = existingDataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-test-'));
  const config = loadConfig({
    env: {},
    overrides: {
      http: { host: '127.0.0.1', port: 0 },
      rtc: { listenIp: '127.0.0.1', announcedAddress: '', port: 0 },
      mediasoup: { numWorkers: 1, logLevel: 'error' },
      log: { level: 'warn' },
      dataDir,
      auth: { secret: TEST_SECRET, linkTtlHours: 24 },
      signaling: { ratePerSec: 1000, burst: 2000 },
      // Statements are recorded only where a test asks (each grant would start an ffmpeg).
      recording: { statements: false },
      // Any free ports for RTP ingests (a fixed range could collide between test files).
      ingest: { portMin: 42000, portMax: 42999 },
      ...overrides,
    },
  });
  return { config, dataDir };
}

const CENTRAL_ROLES: Record<string, Role> = {
  chair: 'chair',
  cochair: 'cochair',
  operator: 'operator',
  wall: 'wall',
};

export interface TokenOptions {
  role?: Role;
  ttlSec?: number;
  now?: number;
  /** The link's generation (0 when never reissued). */
  gen?: number;
}

/** A credential of conference `conf` signed with `secret`: a site's (by code), or a central person's. */
export function tokenFor(conf: string, secret: string, who: string, opts: TokenOptions = {}): string {
  const role = opts.role ?? CENTRAL_ROLES[who] ?? 'site';
  const site = role === 'site' ? who : 'trung-uong';
  return issueCredential(
    secret,
    { conf, role, site, sub: who, gen: opts.gen },
    opts.ttlSec ?? 3600,
    opts.now,
  );
}

export function credentialFor(
  config: Config,
  who: string,
  opts: TokenOptions & { conf?: string; secret?: string } = {},
): string {
  return tokenFor(opts.conf ?? config.conference.id, opts.secret ?? TEST_SECRET, who, opts);
}

export async function startTestServer(
  overrides: Record<string, unknown> = {},
  opts: StartOptions & { dataDir?: string } = {},
): Promise<TestServer> {
  const { config, dataDir } = testConfig(overrides, opts.dataDir);
  setLogLevel(config.log.level);
  const app = await startApplication(config, opts);
  return {
    app,
    config,
    url: app.url,
    dataDir,
    token: (who, o) => credentialFor(config, who, o),
    async stop() {
      await app.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
