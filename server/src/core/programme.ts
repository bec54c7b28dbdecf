/**
 * Who hears and sees whom, decided from the conference state. Pure: the media layer asks
 * and obeys, and it enforces audio on the server (a paused producer forwards nothing),
 * so a client that ignores every instruction still cannot be heard out of turn.
 *
 * - Heard: the microphone of whoever holds the chair, and of the site on air. Nothing else.
 * - The wall sees every camera (its mosaic). The chair and co-chair see the site on air and the
 *   halls in the queue live; the rest of the halls are words and colour on their panel (63 live
 *   thumbnails cost a chair's browser more than it can decode beside its own camera). Operators
 *   get cameras prepared but paused: their table shows figures, not pictures.
 * - Sites see the programme: the chair and the site on air (per the layout), and the presentation.
 *   The programme recorder (role `recorder`, the server's own composite page) gets what a hall gets.
 * - A hall's browser and its RTP ingest (its AV system) are one site: neither gets the other's media.
 */
import type { MediaSource } from '../../../protocol/events';
import { CENTRAL_ROLES, type ConferenceState, type Role } from './model';

export interface Party {
  principal: string;
  role: Role;
  siteCode: string;
}

/** The halls and the programme recorder see the programme (not the central consoles' grids). */
const watchesProgramme = (p: Party) => p.role === 'site' || p.role === 'recorder';
/** The central bridge's consoles: chair, co-chair, operators, wall. */
export const isCentral = (p: Party) => CENTRAL_ROLES.includes(p.role);
const holdsChair = (s: ConferenceState, p: Party) =>
  (p.role === 'chair' || p.role === 'cochair') && p.principal === s.chairHolder;
const onAir = (s: ConferenceState, p: Party) => p.role === 'site' && s.onAir?.siteCode === p.siteCode;
const queued = (s: ConferenceState, p: Party) =>
  p.role === 'site' && s.queue.some((r) => r.siteCode === p.siteCode);

/** Whether the sender's microphone is forwarded at all (the producer is paused otherwise). */
export function micLive(s: ConferenceState, sender: Party): boolean {
  return holdsChair(s, sender) || onAir(s, sender);
}

/** Whether the receiver should have a consumer for this producer (made ahead, so a grant switches instantly). */
export function shouldPrepare(
  s: ConferenceState,
  receiver: Party,
  sender: Party,
  source: MediaSource,
): boolean {
  if (receiver.principal === sender.principal) return false;
  if (receiver.role === 'site' && sender.role === 'site' && receiver.siteCode === sender.siteCode)
    return false;
  if (source === 'screen') return true;
  // The central bridge is one room: its consoles do not play each other's microphones (echo).
  if (source === 'microphone' && isCentral(sender) && isCentral(receiver)) return false;
  if (isCentral(sender)) return true;
  // A site's media: everyone central sees its camera; its microphone, and its camera for other
  // sites, only once it may speak (in the queue or on air).
  if (source === 'camera' && isCentral(receiver)) return true;
  return onAir(s, sender) || queued(s, sender);
}

/** Whether a prepared consumer forwards now (video follows the layout on the sites' screens). */
export function shouldFlow(s: ConferenceState, receiver: Party, sender: Party, source: MediaSource): boolean {
  if (source !== 'camera') return true;
  if (receiver.role === 'wall') return true;
  if (receiver.role === 'operator') return false;
  if (!watchesProgramme(receiver)) return isCentral(sender) || onAir(s, sender) || queued(s, sender);
  if (s.layout === 'presentation' && s.presentation) return false;
  if (isCentral(sender)) return holdsChair(s, sender);
  return onAir(s, sender);
}

/** Whether this party may publish the given source at all. */
export function mayPublish(s: ConferenceState, p: Party, source: MediaSource): boolean {
  if (p.role === 'wall' || p.role === 'operator' || p.role === 'recorder') return false;
  if (source !== 'screen') return true;
  const holder = s.presentation;
  if (!holder) return false;
  return holder.kind === 'site'
    ? p.role === 'site' && p.siteCode === holder.code
    : p.principal === holder.principal;
}

/**
 * Which simulcast layer a receiver should get of a sender's camera: the lowest for the tiles of
 * the chair's, operators' and wall's grids, the highest for the programme (the site on air and
 * the chair, as every site sees them). Keeps a 64-tile wall's downlink bounded. While a site is
 * on air the chair is a small tile beside it on the halls' screens (client/src/lib/mediaView.ts,
 * speaker layouts): the middle layer (640×360) then, which leaves a hall's downlink room for the
 * speaker at 1280×720 right at the grant, and saves the server ~0.7 Mbit/s per hall.
 */
export function preferredLayer(s: ConferenceState, receiver: Party, sender: Party): 'low' | 'mid' | 'high' {
  if (watchesProgramme(receiver)) {
    const chairSmall =
      holdsChair(s, sender) &&
      s.onAir !== null &&
      s.onAir.siteCode !== receiver.siteCode &&
      s.layout !== 'grid';
    return chairSmall ? 'mid' : 'high';
  }
  if (isCentral(sender)) return 'high';
  return onAir(s, sender) ? 'high' : 'low';
}

const LAYER_ORDER = ['low', 'mid', 'high'] as const;

/**
 * The highest layer anyone receiving a sender's camera wants of it now: the publisher need not
 * encode or send the layers above (dynacast). A hall that is not on air is watched only in the
 * grids, at the low layer: it sends 320×180 (about 150 kbit/s) instead of all three layers (1.9
 * Mbit/s), which spares the hall's uplink and the server's ingress; when it takes the floor its
 * top layer is asked for again. A hall in the queue keeps all its layers, so that it reaches
 * every hall in HD at the grant rather than seconds later (a layer started again climbs to its
 * bitrate over seconds); a queue is a handful of halls. Never below the low layer: the grids
 * always show every hall.
 */
export function wantedLayer(s: ConferenceState, receivers: Party[], sender: Party): 'low' | 'mid' | 'high' {
  if (queued(s, sender) && receivers.length > 0) return 'high';
  let best = 0;
  for (const r of receivers) {
    if (r.principal === sender.principal || !shouldFlow(s, r, sender, 'camera')) continue;
    best = Math.max(best, LAYER_ORDER.indexOf(preferredLayer(s, r, sender)));
    if (best === 2) break;
  }
  return LAYER_ORDER[best] as 'low' | 'mid' | 'high';
}
