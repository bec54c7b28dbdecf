/**
 * Which generation of each principal's link is current. Reissuing a link (the operator's
 * console, or `npm run links -- --reissue CODE` while the server runs or not) raises the stored
 * generation; older links are refused from then on, and sessions opened with them are cut.
 */
import { createLogger } from '../logger';
import type { CredentialStore } from '../store/store';

const log = createLogger('credentials');

export class CredentialRegistry {
  readonly #store: CredentialStore;
  #generations: Map<string, number>;
  readonly #listeners: ((principal: string, generation: number) => void)[] = [];

  constructor(store: CredentialStore) {
    this.#store = store;
    this.#generations = store.credentialGenerations();
  }

  /** The current generation of a principal's link (0 when never reissued). */
  readonly generation = (principal: string): number => this.#generations.get(principal) ?? 0;

  /** Called with each principal whose older links stopped being valid. */
  onRevoked(fn: (principal: string, generation: number) => void): void {
    this.#listeners.push(fn);
  }

  /** Revokes every link of the principal issued so far; returns the generation for its new link. */
  reissue(principal: string, at: number): number {
    const g = this.#store.bumpCredential(principal, at);
    this.#set(principal, g);
    return g;
  }

  /** Picks up reissues made by another process (the links CLI) on the same data. */
  refresh(): void {
    for (const [principal, g] of this.#store.credentialGenerations()) {
      if (g > this.generation(principal)) this.#set(principal, g);
    }
  }

  #set(principal: string, g: number): void {
    this.#generations.set(principal, g);
    for (const fn of this.#listeners) {
      try {
        fn(principal, g);
      } catch (e) {
        log.error('closing the sessions of a revoked link failed', { principal, error: e });
      }
    }
  }
}
