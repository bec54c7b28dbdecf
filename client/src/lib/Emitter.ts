/** A tiny typed event emitter for the browser. A listener that throws cannot break the emitter. */
type Listener<A extends unknown[]> = (...args: A) => void;

export class Emitter<Events extends { [K in keyof Events]: unknown[] }> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never[]>>>();

  on<K extends keyof Events>(event: K, fn: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(fn as unknown as Listener<never[]>);
    return () => set.delete(fn as unknown as Listener<never[]>);
  }

  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    for (const fn of this.#listeners.get(event) ?? []) {
      try {
        (fn as unknown as Listener<Events[K]>)(...args);
      } catch (e) {
        setTimeout(() => {
          throw e;
        });
      }
    }
  }
}
