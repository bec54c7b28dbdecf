/**
 * Operator view: every hall in one table with its state in words and colour, camera and
 * microphone, roll call, and a button to reissue the hall's join link (the old link stops
 * working at once). Counters on top are also filters (not connected, no camera, no microphone,
 * poor, present, absent); the table sorts by name, state (trouble first), connection health
 * (trouble first) or roll call, and a search finds a hall without diacritics. Each hall's
 * health is in words and colour with its figures and a sparkline; a click on a hall opens its
 * last hour (./healthDetail.ts), and a hall that gets worse raises an alert (./healthAlerts.ts).
 * Recording: start/stop in the header, and a tab with the recorders' status and the minutes
 * with their downloads (./recordingPanel.ts; a recording problem raises an alert too).
 * Rows are made once per hall and patched in place.
 */
import type { RollCall } from '../../../protocol/conference';
import type { SiteInfo } from '../../../protocol/events';
import type { SiteHealth } from '../../../protocol/health';
import { KeyedList, el, setAttr, setHidden, setText } from '../lib/dom';
import { type Figure, troubleCompare } from '../lib/health';
import { type Sparkline, sparkline } from '../lib/healthChart';
import { figure, levelText, timeOf } from '../lib/healthWords';
import { reissueErrorText, reissueLink } from '../lib/reissue';
import { STATUS_KEY, type SiteStatus, nameMatches } from '../lib/roster';
import { ConsoleStore } from '../lib/store';
import { bindDeckUpload } from '../lib/deckUpload';
import { agendaEditor } from './agendaEditor';
import { healthAlerts } from './healthAlerts';
import { healthDetail } from './healthDetail';
import { recordingPanel } from './recordingPanel';
import { bindRecordingBadge } from '../lib/recordingBadge';
import { bindMinutes, bindRecordingToggle } from '../lib/recordingView';
import { bootConsole, currentLang, runCommand, t, tokenFromLocation } from '../lib/ui';

const client = bootConsole({
  publish: { camera: false, microphone: false },
});
const store = new ConsoleStore(client);

const $ = (id: string) => document.getElementById(id) as HTMLElement;
/** Whose credential this page holds: never offered for reissue. */
let self = '';

// ------------------------------------------------------------------ icons (inline SVG, no emoji font needed)

const SVG = 'http://www.w3.org/2000/svg';
const ICONS = {
  camera: 'M3 7h11a1 1 0 0 1 1 1v2.5L20 7v10l-5-3.5V16a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1z',
  microphone: 'M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3zM6 11a6 6 0 0 0 12 0M12 17v4M8 21h8',
};

function icon(kind: keyof typeof ICONS): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'icon');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', ICONS[kind]);
  const strike = document.createElementNS(SVG, 'path');
  strike.setAttribute('d', 'M3 3l18 18');
  strike.setAttribute('class', 'strike');
  svg.append(path, strike);
  return svg;
}

// ------------------------------------------------------------------ filters and sorting

type Filter = 'all' | 'offline' | 'nocamera' | 'nomic' | 'poor' | 'present' | 'absent';
const FILTERS: Filter[] = ['all', 'offline', 'nocamera', 'nomic', 'poor', 'present', 'absent'];

function rollOf(code: string): RollCall {
  return store.state?.sites.find((x) => x.code === code)?.rollCall ?? 'unknown';
}

function passes(filter: Filter, code: string): boolean {
  const p = store.presence(code);
  switch (filter) {
    case 'all':
      return true;
    case 'offline':
      return !p?.connected;
    case 'nocamera':
      return Boolean(p?.connected && !p.camera);
    case 'nomic':
      return Boolean(p?.connected && !p.microphone);
    case 'poor': {
      // A weak camera (the SFU's score) or a weak line (the health monitor's level): the filter
      // and its counter agree with the health column.
      const level = store.health(code)?.level;
      return Boolean(p?.connected && (p.poor || level === 'poor' || level === 'lost'));
    }
    default:
      return rollOf(code) === filter;
  }
}

/** Trouble first: what an operator must act on comes to the top. */
const STATUS_ORDER: SiteStatus[] = [
  'onAirLost',
  'reconnecting',
  'offline',
  'poor',
  'muted',
  'connected',
  'requesting',
  'onAir',
  'ready',
];
const ROLL_ORDER: RollCall[] = ['absent', 'unknown', 'present'];
type SortKey = 'roster' | 'name' | 'status' | 'health' | 'roll';
let sortKey: SortKey = 'roster';
let sortDir = 1;
let filter: Filter = 'all';
const collator = new Intl.Collator('vi');

function ordered(): SiteInfo[] {
  const halls = [...store.halls];
  const index = new Map(store.halls.map((s, i) => [s.code, i]));
  const key = (s: SiteInfo): number | string =>
    sortKey === 'status'
      ? STATUS_ORDER.indexOf(store.status(s.code))
      : sortKey === 'roll'
        ? ROLL_ORDER.indexOf(rollOf(s.code))
        : 0;
  return halls.sort((a, b) => {
    if (sortKey === 'name') return sortDir * collator.compare(a.name, b.name);
    const d =
      sortKey === 'health'
        ? troubleCompare(store.health(a.code), store.health(b.code))
        : (key(a) as number) - (key(b) as number);
    return d !== 0 ? sortDir * d : (index.get(a.code) ?? 0) - (index.get(b.code) ?? 0);
  });
}

document.querySelectorAll<HTMLButtonElement>('button.sort').forEach((b) =>
  b.addEventListener('click', () => {
    const key = b.dataset.sort as SortKey;
    sortDir = sortKey === key ? -sortDir : 1;
    sortKey = key;
    document
      .querySelectorAll<HTMLButtonElement>('button.sort')
      .forEach((x) =>
        setAttr(
          x.closest('th') as HTMLElement,
          'aria-sort',
          x === b ? (sortDir > 0 ? 'ascending' : 'descending') : null,
        ),
      );
    render();
  }),
);

interface CountRow {
  el: HTMLElement;
  button: HTMLButtonElement;
  count: HTMLElement;
}
const filters = new KeyedList<Filter, CountRow>(
  $('filters'),
  (f) => f,
  (f) => {
    const count = el('span', { class: 'count' });
    const button = el(
      'button',
      { type: 'button', class: 'small', 'data-filter': f },
      t(`filter.${f}`),
      ' ',
      count,
    );
    button.addEventListener('click', () => {
      filter = f;
      render();
    });
    return { el: el('li', {}, button), button, count };
  },
  (row, f) => {
    setText(row.count, String(store.halls.filter((s) => passes(f, s.code)).length));
    setAttr(row.button, 'aria-pressed', String(f === filter));
  },
);

$('site-search').addEventListener('input', () => render());

// ------------------------------------------------------------------ the table

interface SiteRow {
  el: HTMLTableRowElement;
  status: HTMLElement;
  camera: HTMLElement;
  cameraText: HTMLElement;
  microphone: HTMLElement;
  microphoneText: HTMLElement;
  roll: HTMLElement;
  health: HTMLElement;
  figures: Record<Figure, HTMLElement>;
  spark: Sparkline;
  /** The health last written into the row (null before any): a push about others leaves it be. */
  shown: SiteHealth | null | undefined;
}

/** The figures of the table, in the order of its header. */
const FIGURES: [Figure, string][] = [
  ['upKbps', 'up'],
  ['downKbps', 'down'],
  ['lossPct', 'loss'],
  ['rttMs', 'rtt'],
  ['jitterMs', 'jitter'],
  ['score', 'score'],
  ['fps', 'fps'],
];

async function mark(code: string, status: 'present' | 'absent'): Promise<void> {
  await runCommand(client, 'rollcall:mark', { siteCode: code, status });
}

const rows = new KeyedList<SiteInfo, SiteRow>(
  $('rows'),
  (s) => s.code,
  (s) => {
    const status = el('td', { class: 'status' });
    const cameraText = el('span', {});
    const camera = el('td', { class: 'media' });
    camera.append(icon('camera'), cameraText);
    const microphoneText = el('span', {});
    const microphone = el('td', { class: 'media' });
    microphone.append(icon('microphone'), microphoneText);
    const roll = el('span', { class: 'roll' });
    const present = el('button', { type: 'button', class: 'small' }, t('action.present'));
    present.addEventListener('click', () => void mark(s.code, 'present'));
    const absent = el('button', { type: 'button', class: 'small' }, t('action.absent'));
    absent.addEventListener('click', () => void mark(s.code, 'absent'));
    const link =
      // The central bridge's row has no link of its own (its people each have theirs).
      s.code === self || s.kind === 'central'
        ? ''
        : el(
            'button',
            {
              type: 'button',
              class: 'small',
              'data-reissue': s.code,
              'aria-label': t('operator.reissueFor', { site: s.name }),
              'aria-haspopup': 'dialog',
            },
            t('operator.reissue'),
          );
    const health = el('td', { class: 'health' });
    const figures = {} as Record<Figure, HTMLElement>;
    const figs = el('span', { class: 'figs' });
    for (const [f, key] of FIGURES) {
      figures[f] = el('span', { class: 'fig-value' });
      // The header names the figures on screen; a screen reader hears each one's name here.
      figs.append(
        el(
          'span',
          { class: 'fig', 'data-fig': key },
          el('span', { class: 'visually-hidden' }, `${t(`health.figName.${key}`)}: `),
          figures[f],
        ),
      );
    }
    const spark = sparkline(t('health.sparkLabel'));
    const trend = el(
      'button',
      {
        type: 'button',
        class: 'spark-button',
        'data-health-detail': s.code,
        'aria-label': t('health.openFor', { site: s.name }),
        'aria-haspopup': 'dialog',
      },
      spark.svg,
    );
    const tr = el(
      'tr',
      { 'data-site': s.code },
      el('td', { class: 'name' }, s.name),
      status,
      health,
      camera,
      microphone,
      el('td', { class: 'figures' }, figs),
      el('td', { class: 'trend' }, trend),
      el('td', { class: 'roll-cell' }, roll, ' ', present, absent),
      el('td', {}, link),
    );
    return {
      el: tr,
      status,
      camera,
      cameraText,
      microphone,
      microphoneText,
      roll,
      health,
      figures,
      spark,
      shown: null,
    };
  },
  (row, s) => {
    const p = store.presence(s.code);
    const status = store.status(s.code);
    setAttr(row.el, 'data-status', status);
    setText(row.status, t(STATUS_KEY[status]));
    const media = (cell: HTMLElement, text: HTMLElement, on: boolean | undefined) => {
      const v = p?.connected ? (on ? 'on' : 'off') : 'none';
      setAttr(cell, 'data-media', v);
      setText(text, v === 'none' ? '—' : t(v === 'on' ? 'operator.on' : 'operator.off'));
    };
    media(row.camera, row.cameraText, p?.camera);
    media(row.microphone, row.microphoneText, p?.microphone);
    const roll = rollOf(s.code);
    setAttr(row.roll, 'class', `roll roll-${roll}`);
    setText(row.roll, t(`rollcall.${roll}`));
    // Health: every period brings every site; a row is written only when its own health was
    // pushed again, and each write compares first, so a hall whose health held still is not touched.
    const h = store.health(s.code);
    if (row.shown === h) return;
    row.shown = h;
    setAttr(row.el, 'data-health', h?.level ?? 'unknown');
    setText(row.health, levelText(h?.level));
    setAttr(row.health, 'title', h && h.since > 0 ? t('health.since', { time: timeOf(h.since) }) : null);
    for (const [f] of FIGURES) setText(row.figures[f], figure(h?.last?.[f], f));
    row.spark.update(store.healthTrail(s.code));
  },
);

function render(): void {
  if (!store.state) return;
  rows.render(ordered());
  const query = ($('site-search') as HTMLInputElement).value;
  let shown = 0;
  for (const [code, row] of rows.rows()) {
    const visible = passes(filter, code) && nameMatches(store.siteName(code), query);
    if (visible) shown += 1;
    setHidden(row.el, !visible);
  }
  setHidden($('no-rows'), shown > 0);
  filters.render(FILTERS);
  const connected = store.halls.filter((s) => store.presence(s.code)?.connected).length;
  setText($('summary'), t('chair.connected', { count: connected, total: store.halls.length }));
}

// ------------------------------------------------------------------ tabs: the halls, the agenda, recording and minutes

const agenda = agendaEditor(store);
bindDeckUpload(store);
const TABS = ['halls', 'agenda', 'recording'] as const;
function showTab(which: (typeof TABS)[number]): void {
  for (const tab of TABS) {
    setHidden($(`${tab}-view`), which !== tab);
    setAttr($(`tab-${tab}`), 'aria-selected', String(which === tab));
  }
}
for (const tab of TABS) $(`tab-${tab}`).addEventListener('click', () => showTab(tab));

const alerts = healthAlerts(store);
const detail = healthDetail(store);
const recording = recordingPanel(client, store);
bindRecordingBadge(store);
bindRecordingToggle(client, store);
bindMinutes(client, store);
// Beside the store: tests read the alerts and the beeps there (and the recording alerts).
Object.assign((window as unknown as { hoinghi: object }).hoinghi, { alerts, recording });

store.subscribe((changes) => {
  agenda.render();
  if (changes.roster) {
    self = store.joined?.principal ?? '';
    $('conference-title').textContent = store.joined?.conference.title ?? '';
  }
  render();
  alerts.update(changes);
  detail.update(changes);
});

// A click on a hall's row (not on one of its buttons) or on its sparkline opens its health.
$('rows').addEventListener('click', (ev) => {
  const target = ev.target as Element;
  const button = target.closest<HTMLButtonElement>('button[data-health-detail]');
  if (button?.dataset.healthDetail) return detail.open(button.dataset.healthDetail, button);
  if (target.closest('button, input, a, select, textarea, label')) return;
  const tr = target.closest<HTMLElement>('tr[data-site]');
  if (tr?.dataset.site)
    detail.open(tr.dataset.site, tr.querySelector<HTMLButtonElement>('button[data-health-detail]'));
});

/* ---- reissuing a hall's link: one dialog, confirm → request → show the new link ---- */

const dialog = $('reissue') as HTMLDialogElement;
const okButton = $('reissue-ok') as HTMLButtonElement;
const copyButton = $('reissue-copy') as HTMLButtonElement;
const cancelButton = $('reissue-cancel') as HTMLButtonElement;
const urlBox = $('reissue-url') as HTMLTextAreaElement;
/** The site the dialog is about, and a counter so a late answer for an earlier opening is ignored. */
let target: SiteInfo | null = null;
let attempt = 0;
/** While the request is out the dialog stays open: the old link may already be gone, the new one must be seen. */
let busy = false;

// One listener on the table body for every hall's reissue button.
$('rows').addEventListener('click', (ev) => {
  const button = (ev.target as Element).closest<HTMLButtonElement>('button[data-reissue]');
  const code = button?.dataset.reissue;
  if (code) openReissue(code);
});

function openReissue(code: string): void {
  const site = store.halls.find((s) => s.code === code);
  if (!site || code === self || dialog.open || busy) return;
  target = site;
  attempt += 1;
  $('reissue-title').textContent = t('operator.reissueFor', { site: site.name });
  $('reissue-text').textContent = t('operator.reissueWarning', { site: site.name });
  $('reissue-text').hidden = false;
  $('reissue-result').hidden = true;
  $('reissue-error').hidden = true;
  $('reissue-copied').textContent = '';
  urlBox.value = '';
  okButton.hidden = false;
  okButton.disabled = false;
  okButton.textContent = t('operator.reissueGo');
  copyButton.hidden = true;
  cancelButton.textContent = t('action.cancel');
  dialog.showModal();
  cancelButton.focus();
}

okButton.addEventListener('click', () => void confirmReissue());
cancelButton.addEventListener('click', () => {
  if (!busy) dialog.close();
});
dialog.addEventListener('cancel', (ev) => {
  if (busy) ev.preventDefault();
});
copyButton.addEventListener('click', () => void copyLink());
dialog.addEventListener('close', () => {
  attempt += 1;
  const code = target?.code;
  target = null;
  if (code)
    $('rows')
      .querySelector<HTMLButtonElement>(`button[data-reissue="${CSS.escape(code)}"]`)
      ?.focus();
});

async function confirmReissue(): Promise<void> {
  const site = target;
  if (!site) return;
  const mine = attempt;
  busy = true;
  okButton.disabled = true;
  cancelButton.disabled = true;
  okButton.textContent = t('operator.reissueBusy');
  $('reissue-error').hidden = true;
  try {
    const link = await reissueLink(site.code, tokenFromLocation());
    if (mine !== attempt) return;
    $('reissue-text').hidden = true;
    $('reissue-url-label').textContent = t('operator.newLink', { site: site.name });
    urlBox.value = link.url;
    const expires = new Date(link.expiresAt);
    $('reissue-expires').textContent = Number.isNaN(expires.getTime())
      ? ''
      : t('operator.expiresAt', {
          time: expires.toLocaleString(currentLang() === 'vi' ? 'vi-VN' : 'en-GB', {
            dateStyle: 'full',
            timeStyle: 'short',
          }),
        });
    $('reissue-result').hidden = false;
    okButton.hidden = true;
    copyButton.hidden = false;
    cancelButton.textContent = t('operator.dialogClose');
    copyButton.focus();
  } catch (e) {
    if (mine !== attempt) return;
    const { key, params } = reissueErrorText(e, (k) => t(k) !== k);
    $('reissue-error').textContent = t('operator.reissueFailed', { reason: t(key, params) });
    $('reissue-error').hidden = false;
    okButton.disabled = false;
    okButton.textContent = t('operator.reissueGo');
  } finally {
    busy = false;
    cancelButton.disabled = false;
  }
}

async function copyLink(): Promise<void> {
  try {
    await navigator.clipboard.writeText(urlBox.value);
    $('reissue-copied').textContent = t('operator.copied');
  } catch {
    // No clipboard (plain http, or refused): select the text for Ctrl+C.
    urlBox.focus();
    urlBox.select();
    $('reissue-copied').textContent = t('operator.copyManual');
  }
}

client.start();
