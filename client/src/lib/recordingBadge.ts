/**
 * The "ĐANG GHI" badge (#recording-badge, on every console) while the programme composite is
 * being recorded (the conference state's `recording`): a red dot, the word, and the time since it started by the
 * server's clock (the one the countdowns use). Also `body[data-recording]`, for the page's layout.
 */
import { setAttr, setHidden, setText } from './dom';
import { elapsedText } from './recording';
import type { ConsoleStore } from './store';
import { currentLang, t } from './ui';

const $ = (id: string) => document.getElementById(id);
const timeOf = (ms: number) =>
  new Date(ms).toLocaleTimeString(currentLang() === 'vi' ? 'vi-VN' : 'en-GB', { hour12: false });

/** Shows the badge while the conference state has a `recording`, on any console that has #recording-badge. */
export function bindRecordingBadge(store: ConsoleStore): void {
  const badge = $('recording-badge');
  if (!badge) return;
  const elapsed = $('recording-elapsed');
  let since: number | null = null;
  const tick = () => {
    if (since !== null && elapsed) setText(elapsed, elapsedText(since, store.serverNow()));
  };
  store.subscribe(() => {
    const rec = store.state?.recording ?? null;
    const now = rec ? rec.since : null;
    setAttr(document.body, 'data-recording', String(rec !== null));
    setHidden(badge, rec === null);
    if (now !== since) {
      since = now;
      const label = rec ? t('recording.badgeLabel', { time: timeOf(rec.since) }) : t('recording.badge');
      setAttr(badge, 'aria-label', label);
      setAttr(badge, 'title', rec ? label : null);
    }
    tick();
  });
  setInterval(tick, 1000);
}
