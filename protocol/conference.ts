/**
 * The conference as data: what the core owns, what gets persisted, what clients see.
 * Plain JSON (no classes, no Dates: times are epoch milliseconds from an injected clock)
 * so a state can be stored, compared and sent as it is.
 */
import type { Role, SiteKind } from './events';

export type { Role };
export type Phase = 'scheduled' | 'open' | 'in_session' | 'concluded' | 'closed';
export type Layout = 'speaker' | 'speaker_presentation' | 'presentation' | 'grid';
export type AgendaKind = 'opening' | 'report' | 'statement' | 'conclusion' | 'other';
export type RollCall = 'unknown' | 'present' | 'absent';
export type FloorEndReason = 'revoked' | 'expired' | 'next' | 'concluded' | 'withdrawn' | 'lost';

/** Who acts: derived from a verified credential, never from what a client claims. */
export interface Actor {
  role: Role;
  /** Stable identity: the site code for sites, the credential subject for people. */
  principal: string;
  /** The site the actor speaks for (its own for a site; the central bridge for central roles). */
  siteCode: string;
}

export interface SiteState {
  code: string;
  name: string;
  kind: SiteKind;
  rollCall: RollCall;
}

export interface FloorRequest {
  id: string;
  siteCode: string;
  title: string;
  requestedAt: number;
  /** Who put it in the queue (the site itself, or the chair/operator on its behalf). */
  by: string;
}

export interface OnAir {
  requestId: string;
  siteCode: string;
  title: string;
  grantedAt: number;
  allottedMs: number;
  endsAt: number;
  warned: boolean;
  expired: boolean;
  agendaItemId: string | null;
  /**
   * Set while the speaking site's connection is lost: its clock stops here (the countdown
   * shows the time left at that moment) and resumes, with the same time left, when it is back.
   */
  pausedAt?: number;
  /**
   * The chair chose to keep the floor for a lost speaker (`floor:keep`): it is not ended when
   * the site's hold runs out, only by the chair; its clock waits for the site.
   */
  kept?: boolean;
  /** This statement is being recorded to the file of this recording id (see `recording.saved`). */
  recording?: string;
}

/**
 * A site whose connection was lost without a clean goodbye: what it held (on air, its place
 * in the queue, the presentation) is kept until `releaseAt`, then released by the rules.
 */
export interface AwaySite {
  since: number;
  releaseAt: number;
}

export interface AgendaItem {
  id: string;
  kind: AgendaKind;
  title: string;
  allottedSec: number | null;
  speakerSite: string | null;
  /** The deck opened when the floor is granted by this item (absent in older states: none). */
  deckId?: string | null;
}

export type PresentationHolder = { kind: 'site'; code: string } | { kind: 'person'; principal: string };

/** A PDF deck, converted to page images on the server (GET /decks/{id}/{page}.png). */
export interface DeckInfo {
  /** Random and unguessable: the page images' address is their only key. */
  id: string;
  title: string;
  pages: number;
  /** Who uploaded it (a principal), and when (ms). */
  uploadedBy: string;
  uploadedAt: number;
}

/** The deck page every screen shows while the presentation is a deck. */
export interface SlideState {
  deckId: string;
  /** 1-based. */
  page: number;
}

export interface FloorSettings {
  defaultAllottedSec: number;
  /** The warning event fires this long before the end. */
  warningSec: number;
  /** At expiry: only signal it, or end the floor after the grace period. */
  expiry: 'signal' | 'end';
  graceSec: number;
}

export interface ConferenceState {
  id: string;
  title: string;
  phase: Phase;
  /** The principal holding the chair (a chair or co-chair credential). */
  chairHolder: string;
  /**
   * Who may hold the chair: `chair:handover` to anyone else is refused. Set at creation;
   * absent in states stored by older versions, which mean the chair and the co-chair.
   */
  chairEligible?: string[];
  sites: SiteState[];
  queue: FloorRequest[];
  onAir: OnAir | null;
  presentation: PresentationHolder | null;
  agenda: { items: AgendaItem[]; current: number };
  layout: Layout;
  settings: FloorSettings;
  /** Decks uploaded for this conference (absent in states stored by older versions: none). */
  decks?: DeckInfo[];
  /** The deck page shown, or none (absent in older states: none). */
  slide?: SlideState | null;
  /** Sites lost and not yet back, by code (absent in older states: none). */
  away?: Record<string, AwaySite>;
  /**
   * The programme composite is being recorded (and streamed, when configured) since `since`,
   * started by `by`: every console shows "ĐANG GHI" meanwhile (absent in older states: not).
   */
  recording?: { since: number; by: string } | null;
  /** Counters that keep ids and minutes numbering deterministic and continuous across restarts. */
  nextRequest: number;
  nextMinute: number;
}

export type MinuteType =
  | 'conference.opened'
  | 'conference.started'
  | 'conference.concluded'
  | 'conference.closed'
  | 'site.joined'
  | 'site.left'
  | 'site.lost'
  | 'site.back'
  | 'site.released'
  | 'rollcall.marked'
  | 'floor.requested'
  | 'floor.withdrawn'
  | 'floor.reordered'
  | 'floor.skipped'
  | 'floor.rejected'
  | 'floor.granted'
  | 'floor.extended'
  | 'floor.warning'
  | 'floor.expired'
  | 'floor.ended'
  | 'floor.kept'
  | 'presentation.changed'
  | 'deck.added'
  | 'slide.shown'
  | 'slide.closed'
  | 'agenda.set'
  | 'agenda.moved'
  | 'layout.changed'
  | 'chair.handed'
  | 'recording.started'
  | 'recording.stopped'
  | 'recording.saved'
  | 'recording.failed';

/** One line of the minutes: append-only, numbered, timestamped. */
export interface MinuteEntry {
  seq: number;
  at: number;
  type: MinuteType;
  /** The principal who caused it; null for the system (timers, connections). */
  actor: string | null;
  siteCode: string | null;
  data: Record<string, string | number | boolean | null>;
}

export const ROLES: readonly Role[] = ['chair', 'cochair', 'operator', 'site', 'wall', 'recorder'];
/** The people of the central bridge (one room): everyone but the provincial sites. */
export const CENTRAL_ROLES: readonly Role[] = ['chair', 'cochair', 'operator', 'wall'];
/** Who reads the minutes (pushed lines, CSV/JSON export) and the stored state. */
export const MINUTES_READERS: readonly Role[] = ['chair', 'cochair', 'operator'];
