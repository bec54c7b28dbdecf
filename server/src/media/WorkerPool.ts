/**
 * A pool of mediasoup workers, each with one WebRtcServer (one UDP+TCP port per worker:
 * port, port+1, …). A worker that dies is logged and replaced on the same port; listeners hear
 * `workerDied` at once (to drop what it carried) and `workerReplaced` when the new one is up.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { createLogger } from '../logger';
import { loadMediasoup } from './mediasoup';

const log = createLogger('media:pool');

export interface WorkerPoolOptions {
  numWorkers: number;
  listenIp: string;
  announcedAddress: string;
  /** First port; 0 lets each worker choose a free one. */
  port: number;
  logLevel: types.WorkerLogLevel;
}

export interface PoolEntry {
  index: number;
  worker: types.Worker;
  webRtcServer: types.WebRtcServer;
  /** The UDP port its WebRtcServer listens on (the one every hall's media arrives at). */
  udpPort: number;
}

interface PoolEvents {
  /** A worker died; everything on it is gone. */
  workerDied: [index: number];
  /** A worker died and was replaced; objects on the old one are gone. */
  workerReplaced: [entry: PoolEntry];
}

export class WorkerPool extends EventEmitter<PoolEvents> {
  readonly #opts: WorkerPoolOptions;
  readonly #entries: (PoolEntry | undefined)[] = [];
  #closed = false;

  private constructor(opts: WorkerPoolOptions) {
    super();
    this.#opts = opts;
  }

  static async create(opts: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(opts);
    try {
      await Promise.all(Array.from({ length: opts.numWorkers }, (_, i) => pool.#start(i)));
    } catch (e) {
      pool.close();
      throw e;
    }
    return pool;
  }

  get ready(): boolean {
    return !this.#closed && this.#entries.length === this.#opts.numWorkers && this.#entries.every(Boolean);
  }

  get size(): number {
    return this.#entries.filter(Boolean).length;
  }

  entry(index: number): PoolEntry | undefined {
    return this.#entries[index];
  }

  /** The live workers. */
  entries(): PoolEntry[] {
    return this.#entries.filter((e): e is PoolEntry => Boolean(e));
  }

  async #start(index: number): Promise<PoolEntry> {
    const mediasoup = loadMediasoup();
    const worker = await mediasoup.createWorker({
      logLevel: this.#opts.logLevel,
      appData: { index },
    });
    const webRtcServer = await worker
      .createWebRtcServer({
        listenInfos: (['udp', 'tcp'] as const).map((protocol) => ({
          protocol,
          ip: this.#opts.listenIp,
          announcedIp: this.#opts.announcedAddress,
          ...(this.#opts.port ? { port: this.#opts.port + index } : {}),
        })),
      })
      .catch((e: Error) => {
        worker.close();
        throw new Error(
          `cannot open RTC port ${this.#opts.port ? this.#opts.port + index : '(any)'} on ${this.#opts.listenIp}: ${e.message}`,
        );
      });
    const dump = (await webRtcServer.dump()) as { udpSockets?: { port: number }[] };
    const entry: PoolEntry = { index, worker, webRtcServer, udpPort: dump.udpSockets?.[0]?.port ?? 0 };
    this.#entries[index] = entry;
    worker.on('died', (err) => {
      log.error('mediasoup worker died; replacing it', { index, pid: worker.pid, error: err });
      this.#entries[index] = undefined;
      if (this.#closed) return;
      // Replacement first: a listener that throws must not leave the pool without the worker.
      void this.#replace(index);
      try {
        this.emit('workerDied', index);
      } catch (e) {
        log.error('a listener of a worker death failed', { index, error: e });
      }
    });
    log.info('worker up', { index, pid: worker.pid, udpPort: entry.udpPort });
    return entry;
  }

  async #replace(index: number, attempt = 1): Promise<void> {
    try {
      const entry = await this.#start(index);
      this.emit('workerReplaced', entry);
    } catch (e) {
      const delay = Math.min(5000, 250 * 2 ** attempt);
      log.error('could not replace worker; retrying', { index, attempt, delayMs: delay, error: e });
      if (!this.#closed) setTimeout(() => void this.#replace(index, attempt + 1), delay).unref();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const e of this.#entries) e?.worker.close();
    this.#entries.length = 0;
  }
}
