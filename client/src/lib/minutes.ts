/**
 * A minutes line in words: its label (`minute.<type>` in the locale files), its site and a
 * short detail (the statement's title, how long it lasted, a recording's size). The words come
 * from the caller's `t`, so this stays pure: unit-tested in tests/unit/recording-view.test.ts.
 */
import type { MinuteEntry, MinuteType } from '../../../protocol/conference';
import { bytesText, spanText } from './recording';

/**
 * The label key of every type of line (a new type in the protocol fails to compile here until
 * its label is added).
 */
const LABEL_KEYS: Record<`minute.${MinuteType}`, true> = {
  'minute.conference.opened': true,
  'minute.conference.started': true,
  'minute.conference.concluded': true,
  'minute.conference.closed': true,
  'minute.site.joined': true,
  'minute.site.left': true,
  'minute.site.lost': true,
  'minute.site.back': true,
  'minute.site.released': true,
  'minute.rollcall.marked': true,
  'minute.floor.requested': true,
  'minute.floor.withdrawn': true,
  'minute.floor.reordered': true,
  'minute.floor.skipped': true,
  'minute.floor.rejected': true,
  'minute.floor.granted': true,
  'minute.floor.extended': true,
  'minute.floor.warning': true,
  'minute.floor.expired': true,
  'minute.floor.ended': true,
  'minute.floor.kept': true,
  'minute.presentation.changed': true,
  'minute.deck.added': true,
  'minute.slide.shown': true,
  'minute.slide.closed': true,
  'minute.agenda.set': true,
  'minute.agenda.moved': true,
  'minute.layout.changed': true,
  'minute.chair.handed': true,
  'minute.recording.started': true,
  'minute.recording.stopped': true,
  'minute.recording.saved': true,
  'minute.recording.failed': true,
};
export const MINUTE_TYPES = Object.keys(LABEL_KEYS).map((k) => k.slice('minute.'.length) as MinuteType);

export function minuteLabelKey(type: MinuteType): string {
  return `minute.${type}`;
}

export interface MinuteWords {
  t: (key: string, params?: Record<string, string | number>) => string;
  siteName: (code: string) => string;
  locale: string;
}

export interface MinuteLine {
  label: string;
  site: string;
  detail: string;
}

export function minuteLine(e: MinuteEntry, w: MinuteWords): MinuteLine {
  const d = e.data;
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const parts: string[] = [];
  const kind = str(d.kind);
  switch (e.type) {
    case 'floor.ended': {
      if (str(d.title)) parts.push(str(d.title));
      const sec = num(d.actualSec);
      if (sec !== null) parts.push(spanText(sec * 1000));
      break;
    }
    case 'recording.stopped': {
      const sec = num(d.durationSec);
      if (sec !== null) parts.push(spanText(sec * 1000));
      break;
    }
    case 'recording.saved': {
      if (kind === 'statement' || kind === 'programme') parts.push(w.t(`recording.kind.${kind}`));
      const sec = num(d.durationSec);
      if (sec !== null) parts.push(spanText(sec * 1000));
      const bytes = num(d.bytes);
      if (bytes !== null) parts.push(bytesText(bytes, w.locale));
      break;
    }
    case 'recording.failed':
      if (kind === 'statement' || kind === 'programme') parts.push(w.t(`recording.kind.${kind}`));
      if (str(d.message)) parts.push(str(d.message));
      break;
    default:
      // What the line is about: a title (a statement, an agenda item, a deck), a roll-call mark,
      // a layout.
      if (str(d.title)) parts.push(str(d.title));
      if (str(d.status)) parts.push(w.t(`rollcall.${str(d.status)}`));
      if (str(d.layout)) parts.push(w.t(`layout.${str(d.layout)}`));
  }
  return {
    label: w.t(minuteLabelKey(e.type)),
    site: e.siteCode ? w.siteName(e.siteCode) : '',
    detail: parts.join(' · '),
  };
}
