/**
 * One live conference as signaling sees it: the roster, who is connected (one session
 * per site: the newest wins), and its media. Identity always comes from the verified
 * credential attached to the socket at the handshake.
 */
import type { Credential } from '../auth/tokens';
import type { Roster } from '../core/roster';
import type { ConferenceMedia } from '../media/ConferenceMedia';
import type { SiteInfo, SitePresence } from '../../../protocol/events';

export interface SessionHandle {
  id: string;
  cred: Credential;
  site: SiteInfo;
  /** Ends the session from the server side with a reason the client shows. */
  close(reason: 'replaced' | 'server-shutdown' | 'media-restart'): void;
}

export class Conference {
  readonly #sessions = new Map<string, SessionHandle>();

  constructor(
    readonly id: string,
    readonly title: string,
    readonly roster: Roster,
    public media: ConferenceMedia,
  ) {}

  site(code: string): SiteInfo | undefined {
    return this.roster.sites.find((s) => s.code === code);
  }

  /** Registers a session for its site; returns the older session it replaces, if any. */
  attach(session: SessionHandle): SessionHandle | undefined {
    const old = this.#sessions.get(session.site.code);
    this.#sessions.set(session.site.code, session);
    return old && old.id !== session.id ? old : undefined;
  }

  /** Removes the session if it is still the site's current one; true when it was. */
  detach(session: SessionHandle): boolean {
    if (this.#sessions.get(session.site.code)?.id !== session.id) return false;
    this.#sessions.delete(session.site.code);
    return true;
  }

  isCurrent(session: SessionHandle): boolean {
    return this.#sessions.get(session.site.code)?.id === session.id;
  }

  presence(): SitePresence[] {
    return this.roster.sites.map((s) => ({ code: s.code, connected: this.#sessions.has(s.code) }));
  }

  sessions(): SessionHandle[] {
    return [...this.#sessions.values()];
  }
}
