/** The compiled server as an operator runs it (node dist/server/src/main.js), for tests that must see it survive or exit. */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../server/src/config/config';
import { type TokenOptions, tokenFor } from './testServer';
import { waitFor } from './waitFor';

/** The project's root, from the sources (jest) or from dist/ (the benchmarks). */
export const ROOT = PROJECT_ROOT;
export const MAIN = path.join(ROOT, 'dist', 'server', 'src', 'main.js');
export const LINKS = path.join(ROOT, 'dist', 'server', 'src', 'cli', 'links.js');
export const PROCESS_SECRET = 'process-test-secret-0123456789-abcdefgh';
export const CONFERENCE_ID = 'hoi-nghi-toan-quoc';

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  out: { stdout: string; stderr: string };
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string | null>;
  /** SIGTERM, then SIGKILL after 10 s; resolves when it is gone. */
  stop(): Promise<void>;
}

/** The environment for a child: this one's, less any HOINGHI_* of the developer's shell. */
export function serverEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOINGHI_')));
  return {
    ...clean,
    HOINGHI_HTTP_HOST: '127.0.0.1',
    HOINGHI_HTTP_PORT: '0',
    HOINGHI_RTC_LISTEN_IP: '127.0.0.1',
    HOINGHI_RTC_PORT: '0',
    HOINGHI_WORKERS: '1',
    HOINGHI_DATA_DIR: dataDir,
    HOINGHI_SECRET: PROCESS_SECRET,
    HOINGHI_RECORD_STATEMENTS: 'false',
    ...extra,
  };
}

export async function startServerProcess(
  dataDir: string,
  extra: Record<string, string> = {},
): Promise<ServerProcess> {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} missing: run "npm run build" (npm test does it)`);
  const child = spawn(process.execPath, [MAIN], {
    env: serverEnv(dataDir, extra),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | string | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal)),
  );
  const url = await waitFor('the printed address', () => /open: (http:\/\/\S+)/.exec(out.stdout)?.[1], {
    timeoutMs: 30_000,
    missing: () => ({ ...out, exitCode: child.exitCode }),
  });
  return {
    child,
    url,
    out,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const force = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), 10_000);
      if (child.pid) process.kill(child.pid, 'SIGTERM');
      await exited;
      clearTimeout(force);
    },
  };
}

/** A credential for the process's conference: a site by code, or a central person. */
export function processToken(who: string, opts: TokenOptions = {}): string {
  return tokenFor(CONFERENCE_ID, PROCESS_SECRET, who, opts);
}
