/**
 * The operator's connection alerts, at the top of the page: a hall whose health gets worse
 * raises one (its name, the level and the reasons in words, the time), which stays, saying so
 * once the hall has recovered, until the operator acknowledges it. The count is in the tab's
 * title. A beep sounds only if the operator asked for it ("Báo âm thanh", kept in this
 * browser); the audio starts from a click or key press, as browsers require.
 */
import type { HealthLevel } from '../../../protocol/health';
import { KeyedList, el, setAttr, setDisabled, setHidden, setText } from '../lib/dom';
import { type HealthAlert, HealthAlerts } from '../lib/health';
import { levelText, reasonsText, timeOf } from '../lib/healthWords';
import type { Changes, ConsoleStore } from '../lib/store';
import { t } from '../lib/ui';

export const SOUND_KEY = 'hoinghi.healthSound';

export interface AlertsView {
  update(changes: Changes): void;
  /** Beeps sounded since the page opened (tests read it). */
  readonly beeps: number;
  readonly alerts: HealthAlert[];
}

interface AlertRow {
  el: HTMLElement;
  time: HTMLElement;
  level: HTMLElement;
  reasons: HTMLElement;
  state: HTMLElement;
}

export function healthAlerts(store: ConsoleStore): AlertsView {
  const $ = (id: string) => document.getElementById(id) as HTMLElement;
  const section = $('health-alerts');
  const count = $('health-alert-count');
  const ackAll = $('health-ack-all') as HTMLButtonElement;
  const sound = $('health-sound') as HTMLInputElement;
  const baseTitle = document.title;
  const machine = new HealthAlerts();
  let beeps = 0;

  const list = new KeyedList<HealthAlert, AlertRow>(
    $('health-alert-list'),
    (a) => String(a.id),
    (a) => {
      const site = store.siteName(a.code);
      const time = el('time', { class: 'alert-time' });
      const level = el('span', { class: 'alert-level' });
      const reasons = el('span', { class: 'alert-reasons' });
      const state = el('span', { class: 'alert-state' });
      const ack = el(
        'button',
        { type: 'button', class: 'small', 'aria-label': t('health.ackFor', { site }) },
        t('health.ack'),
      );
      ack.addEventListener('click', () => acknowledge(a.id));
      const li = el(
        'li',
        { class: 'health-alert', 'data-alert-site': a.code },
        time,
        el('strong', { class: 'alert-site' }, site),
        level,
        reasons,
        state,
        ack,
      );
      return { el: li, time, level, reasons, state };
    },
    (row, a) => {
      setAttr(row.el, 'data-level', a.level);
      setAttr(row.el, 'data-recovered', String(a.recoveredAt !== null));
      setAttr(row.time, 'datetime', new Date(a.raisedAt).toISOString());
      setText(row.time, timeOf(a.raisedAt));
      setText(row.level, levelText(a.level));
      setText(row.reasons, reasonsText(a.reasons));
      setText(
        row.state,
        a.recoveredAt !== null
          ? t('health.recovered', { time: timeOf(a.recoveredAt) })
          : a.current !== a.level
            ? t('health.nowLevel', { level: levelText(a.current) })
            : '',
      );
    },
  );

  function render(): void {
    const alerts = machine.list();
    list.render(alerts);
    setText(count, String(alerts.length));
    setAttr(section, 'data-count', String(alerts.length));
    setDisabled(ackAll, alerts.length === 0);
    setHidden($('health-no-alerts'), alerts.length > 0);
    const title = alerts.length
      ? t('health.titleCount', { count: alerts.length, title: baseTitle })
      : baseTitle;
    if (document.title !== title) document.title = title;
  }

  /** Removes an alert; the focus goes to the next one's button (or the list's heading), not to the page's top. */
  function acknowledge(id: number): void {
    const alerts = machine.list();
    const i = alerts.findIndex((a) => a.id === id);
    machine.ack(id);
    render();
    const next = alerts[i + 1] ?? alerts[i - 1];
    const target = next ? list.get(String(next.id))?.el.querySelector('button') : null;
    (target ?? $('health-alerts-title')).focus();
  }

  ackAll.addEventListener('click', () => {
    machine.ackAll();
    render();
    $('health-alerts-title').focus();
  });

  // ---- sound: only when asked for, from a user gesture

  let audio: AudioContext | null = null;
  const wake = () => {
    if (!sound.checked) return;
    audio ??= new AudioContext();
    if (audio.state === 'suspended') void audio.resume();
  };
  sound.checked = window.localStorage.getItem(SOUND_KEY) === '1';
  sound.addEventListener('change', () => {
    window.localStorage.setItem(SOUND_KEY, sound.checked ? '1' : '0');
    wake();
    // What it will sound like, at once: the operator knows the speakers work.
    beep('degraded');
  });
  // Asked for on an earlier visit: the audio can start at the first click or key press here.
  for (const type of ['pointerdown', 'keydown'] as const)
    document.addEventListener(type, wake, { once: true });

  function beep(level: HealthLevel): void {
    if (!sound.checked || !audio) return;
    beeps += 1;
    const now = audio.currentTime;
    // A lost hall: two low tones; worse connections: one higher tone.
    const tones = level === 'lost' ? [0, 0.22] : [0];
    for (const at of tones) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = level === 'lost' ? 440 : 880;
      gain.gain.setValueAtTime(0.0001, now + at);
      gain.gain.exponentialRampToValueAtTime(0.25, now + at + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.18);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + at);
      osc.stop(now + at + 0.2);
    }
  }

  render();
  return {
    update(changes) {
      if (changes.roster) render();
      if (changes.health.size === 0) return;
      const sites = [...changes.health].flatMap((code) => store.health(code) ?? []);
      const events = machine.observe(sites);
      // One sound per push, for its worst news.
      const news = events.filter((e) => e.kind === 'raised' || e.kind === 'worsened');
      if (news.length)
        beep(
          news.some((e) => e.alert.level === 'lost')
            ? 'lost'
            : (news[0] as { alert: HealthAlert }).alert.level,
        );
      if (events.length) render();
    },
    get beeps() {
      return beeps;
    },
    get alerts() {
      return machine.list();
    },
  };
}
