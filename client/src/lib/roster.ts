/** A site's state in words, for the chair's grid and the operator's table: one function, one truth. */
import type { ConferenceState } from '../../../protocol/conference';
import type { SitePresence } from '../../../protocol/events';

export type SiteStatus =
  | 'offline'
  | 'connected'
  | 'ready'
  | 'muted'
  | 'poor'
  | 'requesting'
  | 'onAir'
  /** On air, but its connection is gone: the floor is still its own until the chair decides. */
  | 'onAirLost'
  | 'reconnecting';

export function siteStatus(state: ConferenceState, code: string, p: SitePresence | undefined): SiteStatus {
  if (state.onAir?.siteCode === code) return p?.connected ? 'onAir' : 'onAirLost';
  if (!p?.connected) return state.away?.[code] ? 'reconnecting' : 'offline';
  if (state.queue.some((r) => r.siteCode === code)) return 'requesting';
  if (p.poor) return 'poor';
  if (p.camera && !p.microphone) return 'muted';
  if (p.camera && p.microphone) return 'ready';
  return 'connected';
}

export const STATUS_KEY: Record<SiteStatus, string> = {
  offline: 'tile.offline',
  connected: 'tile.online',
  ready: 'tile.ready',
  muted: 'tile.muted',
  poor: 'tile.poor',
  requesting: 'tile.requesting',
  onAir: 'tile.onAir',
  onAirLost: 'tile.onAirLost',
  reconnecting: 'tile.reconnecting',
};

/** "3:07" for a waiting or remaining time. */
export function clock(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

/**
 * A name folded for searching: lower case, without diacritics (đ → d), punctuation as spaces,
 * so "ba ria" finds "Bà Rịa - Vũng Tàu" and "HCM" nothing it should not.
 */
export function fold(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[đĐ]/g, 'd')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/** Whether a site name matches what was typed in a search box (every word, in any order). */
export function nameMatches(name: string, query: string): boolean {
  const q = fold(query);
  if (!q) return true;
  const words = ` ${fold(name)} `;
  return q.split(' ').every((w) => words.includes(` ${w}`));
}
