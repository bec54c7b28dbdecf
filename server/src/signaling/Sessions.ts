/**
 * Who is connected: one session per principal (a site, or a person at the central bridge).
 * The newest session of a principal wins; the older one is closed with a reason.
 */
import type { CloseReason, SitePresence } from '../../../protocol/events';
import type { Actor } from '../core/model';

export interface SessionHandle {
  id: string;
  actor: Actor;
  /** Ends the session from the server side with a reason the client shows. */
  close(reason: CloseReason): void;
  /** It stopped answering (no heartbeat): it does not count as connected meanwhile. */
  lost?: boolean;
}

export class Sessions {
  readonly #byPrincipal = new Map<string, SessionHandle>();

  /** Registers a session; returns the older session of the same principal it replaces, if any. */
  attach(session: SessionHandle): SessionHandle | undefined {
    const old = this.#byPrincipal.get(session.actor.principal);
    this.#byPrincipal.set(session.actor.principal, session);
    return old && old.id !== session.id ? old : undefined;
  }

  /** Removes the session if it is still its principal's current one; true when it was. */
  detach(session: SessionHandle): boolean {
    if (this.#byPrincipal.get(session.actor.principal)?.id !== session.id) return false;
    this.#byPrincipal.delete(session.actor.principal);
    return true;
  }

  isCurrent(session: SessionHandle): boolean {
    return this.#byPrincipal.get(session.actor.principal)?.id === session.id;
  }

  all(): SessionHandle[] {
    return [...this.#byPrincipal.values()];
  }

  /** A site is connected when any session speaks for it (the central bridge: any central person). */
  siteConnected(code: string): boolean {
    return this.all().some((s) => s.actor.siteCode === code && !s.lost);
  }

  /** Its only sessions stopped answering. */
  siteLost(code: string): boolean {
    return !this.siteConnected(code) && this.all().some((s) => s.actor.siteCode === code && s.lost);
  }

  presence(
    siteCodes: string[],
    media: (code: string) => { camera: boolean; microphone: boolean; poor: boolean },
  ): SitePresence[] {
    return siteCodes.map((code) => ({ code, connected: this.siteConnected(code), ...media(code) }));
  }
}
