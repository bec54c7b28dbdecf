/**
 * Loads mediasoup with the worker binary that setup cached (outside node_modules).
 * mediasoup reads MEDIASOUP_WORKER_BIN once, when it is first required, so every
 * use of mediasoup goes through `loadMediasoup()`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as MediasoupModule from 'mediasoup';

type Mediasoup = typeof MediasoupModule;

/** Same rule as scripts/setup.mjs: cached per mediasoup version and platform. */
export function cachedWorkerPath(version: string): string {
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const root = process.env.HOINGHI_CACHE_DIR || path.join(cache, 'hoinghi');
  return path.join(root, `mediasoup-worker-${version}-${os.platform()}-${os.arch()}`, 'mediasoup-worker');
}

export class WorkerBinaryMissing extends Error {
  override name = 'WorkerBinaryMissing';
}

let loaded: Mediasoup | undefined;

export function loadMediasoup(): Mediasoup {
  if (loaded) return loaded;
  if (!process.env.MEDIASOUP_WORKER_BIN) {
    const pkgFile = path.join(path.dirname(require.resolve('mediasoup')), '..', '..', 'package.json');
    const version = (JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { version: string }).version;
    const bin = cachedWorkerPath(version);
    if (!fs.existsSync(bin)) {
      throw new WorkerBinaryMissing(
        `mediasoup worker not found at ${bin}; run "node scripts/setup.mjs run" (npm start does it)`,
      );
    }
    process.env.MEDIASOUP_WORKER_BIN = bin;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded = require('mediasoup') as Mediasoup;
  return loaded;
}
