/** Starts the real application (real mediasoup worker) on free loopback ports, for tests and benchmarks. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Application, startApplication } from '../../server/src/app';
import { issueToken } from '../../server/src/auth/tokens';
import { type Config, loadConfig } from '../../server/src/config/config';
import { setLogLevel } from '../../server/src/logger';

export const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnop';

export interface TestServer {
  app: Application;
  config: Config;
  url: string;
  token(siteCode: string, role?: 'chair' | 'site'): string;
  stop(): Promise<void>;
}

export function testConfig(overrides: Record<string, unknown> = {}): { config: Config; dataDir: string } {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-test-'));
  const config = loadConfig({
    env: {},
    overrides: {
      http: { host: '127.0.0.1', port: 0 },
      rtc: { listenIp: '127.0.0.1', announcedAddress: '', port: 0 },
      mediasoup: { numWorkers: 1, logLevel: 'error' },
      log: { level: 'warn' },
      dataDir,
      auth: { secret: TEST_SECRET },
      ...overrides,
    },
  });
  return { config, dataDir };
}

export async function startTestServer(overrides: Record<string, unknown> = {}): Promise<TestServer> {
  const { config, dataDir } = testConfig(overrides);
  setLogLevel(config.log.level);
  const app = await startApplication(config);
  return {
    app,
    config,
    url: app.url,
    token: (siteCode, role = 'site') => issueToken(TEST_SECRET, config.conference.id, { role, siteCode }),
    async stop() {
      await app.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
