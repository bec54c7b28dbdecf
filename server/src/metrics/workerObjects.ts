/**
 * How many routers, transports, producers and consumers each mediasoup worker holds, counted
 * from mediasoup's observer events as they are created and closed: reading them costs nothing
 * at scrape time (a dump would be one request to the worker per object).
 */
import type { types } from 'mediasoup';
import type { WorkerObjectCounts } from './metrics';

export class WorkerObjects {
  readonly #counts = new WeakMap<types.Worker, WorkerObjectCounts>();

  /** Starts counting a worker's objects; call it before the worker's first router is made. */
  track(worker: types.Worker): void {
    if (this.#counts.has(worker)) return;
    const counts: WorkerObjectCounts = { routers: 0, transports: 0, producers: 0, consumers: 0 };
    this.#counts.set(worker, counts);
    const counted = (key: keyof WorkerObjectCounts, observer: { once(e: 'close', fn: () => void): void }) => {
      counts[key] += 1;
      observer.once('close', () => {
        counts[key] -= 1;
      });
    };
    worker.observer.on('newrouter', (router) => {
      counted('routers', router.observer);
      router.observer.on('newtransport', (transport) => {
        counted('transports', transport.observer);
        transport.observer.on('newproducer', (p) => counted('producers', p.observer));
        transport.observer.on('newconsumer', (c) => counted('consumers', c.observer));
      });
    });
  }

  /** The worker's counts now (zeros for a worker not tracked). */
  counts(worker: types.Worker): WorkerObjectCounts {
    return { ...(this.#counts.get(worker) ?? { routers: 0, transports: 0, producers: 0, consumers: 0 }) };
  }
}
