/**
 * The chair's panel: lifecycle, the speaker queue (grant, grant next, skip, reject, reorder)
 * with a live thumbnail of each hall waiting, the site on air large with its remaining time
 * (revoke, extend), every hall at a glance (state in words and colour, a search that ignores
 * diacritics), the agenda, the presentation token and the layout of every screen.
 * Only the halls on air or in the queue are live pictures here (the server sends no others):
 * 63 thumbnails cost a chair's browser more than they tell.
 * Recording the programme starts and stops from the header ("ĐANG GHI" meanwhile); the minutes,
 * with a download on the lines of a recording, fold out at the bottom of the right column.
 * Keyboard: N = grant next, R = revoke, / = search. Irreversible actions ask for confirmation.
 */
import type { ConferenceState, FloorRequest, Phase } from '../../../protocol/conference';
import type { ClientToServerEvents, CommandEventName, SiteInfo } from '../../../protocol/events';
import { confirmThen } from '../lib/confirm';
import { countdown } from '../lib/countdown';
import { KeyedList, el, setAttr, setDisabled, setHidden, setText, setVar, showTrack } from '../lib/dom';
import { MediaView, showImage, slideUrl } from '../lib/mediaView';
import { STATUS_KEY, type SiteStatus, clock, nameMatches } from '../lib/roster';
import { bindDeckControls } from '../lib/deckControls';
import { bindDeckUpload } from '../lib/deckUpload';
import { bindRecordingBadge } from '../lib/recordingBadge';
import { bindMinutes, bindRecordingToggle } from '../lib/recordingView';
import { bindScreenShare } from '../lib/screenShare';
import { ConsoleStore } from '../lib/store';
import { bootConsole, qualityFromLocation, runCommand, t } from '../lib/ui';

const client = bootConsole({
  publish: { camera: true, microphone: true },
  quality: qualityFromLocation(),
});
const store = new ConsoleStore(client);

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const view = new MediaView(client, $('audio-sink'));
const send = <E extends CommandEventName>(event: E, payload: Parameters<ClientToServerEvents[E]>[0]) =>
  void runCommand(client, event, payload);

// ------------------------------------------------------------------ commands

const NEXT_PHASE: Partial<Record<Phase, { event: CommandEventName; label: string; confirm?: string }>> = {
  scheduled: { event: 'conference:open', label: 'action.open' },
  open: { event: 'conference:start', label: 'action.start' },
  in_session: { event: 'conference:conclude', label: 'action.conclude', confirm: 'confirm.conclude' },
  concluded: { event: 'conference:close', label: 'action.close', confirm: 'confirm.close' },
};

$('phase-button').addEventListener('click', () => {
  const next = store.state && NEXT_PHASE[store.state.phase];
  if (!next) return;
  const go = () => send(next.event, {});
  if (next.confirm) confirmThen(t(next.confirm), go);
  else go();
});

function revoke(): void {
  const on = store.state?.onAir;
  if (on)
    confirmThen(t('confirm.revoke', { site: store.siteName(on.siteCode) }), () => send('floor:revoke', {}));
}
$('revoke-button').addEventListener('click', revoke);
$('keep-button').addEventListener('click', () => send('floor:keep', {}));
$('extend-button').addEventListener('click', () => send('floor:extend', { seconds: 60 }));
$('next-button').addEventListener('click', () => send('floor:next', {}));
$('agenda-next').addEventListener('click', () => send('agenda:next', {}));
$('agenda-grant').addEventListener('click', () => send('agenda:grant', {}));
// An item of the agenda, clicked: the agenda moves there (the floor moves with "grant by the agenda").
$('agenda').addEventListener('click', (ev) => {
  const li = (ev.target as Element).closest<HTMLElement>('li[data-index]');
  if (li) send('agenda:goto', { index: Number(li.dataset.index) });
});
$('presentation-give').addEventListener('click', () => {
  const v = $<HTMLSelectElement>('presentation-target').value;
  if (!v) return;
  const [kind, id] = v.split(':') as ['site' | 'person', string];
  send('presentation:give', { to: kind === 'site' ? { kind, code: id } : { kind, principal: id } });
});
$('presentation-release').addEventListener('click', () => send('presentation:release', {}));
$('layouts').addEventListener('click', (ev) => {
  const layout = (ev.target as HTMLElement).dataset.layout as ConferenceState['layout'] | undefined;
  if (layout) send('layout:set', { layout });
});

document.addEventListener('keydown', (ev) => {
  const target = ev.target as HTMLElement;
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName))
    return;
  if ($<HTMLDialogElement>('confirm').open) return;
  if (ev.key === 'n' || ev.key === 'N') send('floor:next', {});
  if (ev.key === 'r' || ev.key === 'R') revoke();
  if (ev.key === '/') {
    ev.preventDefault();
    $('hall-search').focus();
  }
});

client.on('local:stream', (stream) => showTrack($<HTMLVideoElement>('self'), stream.getVideoTracks()[0]));

// ------------------------------------------------------------------ every hall at a glance

interface HallRow {
  el: HTMLElement;
  state: HTMLElement;
}

const halls = new KeyedList<SiteInfo, HallRow>(
  $('sites'),
  (s) => s.code,
  (s) => {
    const name = el('span', { class: 'hall-name' }, s.name);
    const state = el('span', { class: 'hall-state' });
    const li = el('li', { class: 'hall', 'data-site': s.code, title: s.name }, name, state);
    return { el: li, state };
  },
  (row, s) => {
    const status = store.status(s.code);
    setAttr(row.el, 'data-status', status);
    setText(row.state, t(STATUS_KEY[status]));
  },
);

/** The states counted above the grid, in the order a chair reads them. */
const COUNTED: SiteStatus[] = [
  'onAir',
  'onAirLost',
  'reconnecting',
  'requesting',
  'ready',
  'muted',
  'connected',
  'poor',
  'offline',
];
const counts = new KeyedList<SiteStatus, HallRow>(
  $('hall-counts'),
  (s) => s,
  (s) => {
    const state = el('span', { class: 'count' });
    return {
      el: el('li', { 'data-status': s }, el('span', { class: 'dot' }), t(STATUS_KEY[s]), ' ', state),
      state,
    };
  },
  (row, s) => {
    const n = store.halls.reduce((acc, h) => acc + (store.status(h.code) === s ? 1 : 0), 0);
    setText(row.state, String(n));
    setHidden(row.el, n === 0);
  },
);

function renderHalls(): void {
  halls.render(store.halls);
  counts.render(COUNTED);
  const connected = store.halls.filter((h) => store.status(h.code) !== 'offline').length;
  setText($('summary'), t('chair.connected', { count: connected, total: store.halls.length }));
}

/**
 * Columns for the panel's shape, so that every hall fits without scrolling. Only when the panel
 * is resized (or the roster changes): reading its size in every render would force a layout.
 */
function fitGrid(width: number, height: number): void {
  const box = $('sites');
  const n = Math.max(1, store.halls.length);
  // Tiles about 1.4 times as wide as tall read best (two lines of name and one of state).
  const cols = Math.max(3, Math.min(n, Math.round(Math.sqrt((n * (width / Math.max(1, height))) / 1.4))));
  setVar(box, '--cols', String(cols));
  setVar(box, '--rows', String(Math.ceil(n / cols)));
}
let gridSize = { width: 16, height: 9 };
new ResizeObserver(([entry]) => {
  if (!entry) return;
  gridSize = { width: entry.contentRect.width, height: entry.contentRect.height };
  fitGrid(gridSize.width, gridSize.height);
}).observe($('sites'));

function applySearch(): void {
  const query = $<HTMLInputElement>('hall-search').value;
  let found = 0;
  for (const [code, row] of halls.rows()) {
    const match = nameMatches(store.siteName(code), query);
    if (match) found += 1;
    setAttr(row.el, 'data-match', query.trim() ? String(match) : null);
  }
  setText($('search-result'), query.trim() ? t('chair.searchResult', { count: found }) : '');
}
$('hall-search').addEventListener('input', applySearch);
$('hall-search').addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape') {
    $<HTMLInputElement>('hall-search').value = '';
    applySearch();
  }
});

// ------------------------------------------------------------------ the floor

interface QueueRow {
  el: HTMLElement;
  video: HTMLVideoElement;
  name: HTMLElement;
  title: HTMLElement;
  waited: HTMLElement;
  grant: HTMLButtonElement;
  up: HTMLButtonElement;
  down: HTMLButtonElement;
  request: FloorRequest;
  index: number;
}

function button(label: string, cls: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', { type: 'button', class: cls }, label);
  b.addEventListener('click', onClick);
  return b;
}

// Buttons are made once per request and read the row's current request and place when clicked.
const queue = new KeyedList<FloorRequest, QueueRow>(
  $('queue'),
  (r) => r.id,
  (r) => {
    const video = el('video', { playsinline: '', autoplay: '' });
    video.muted = true;
    const name = el('strong', {});
    const title = el('p', { class: 'queue-title' });
    const waited = el('span', { class: 'waited muted' });
    const row = { request: r, index: 0 };
    const grant = button(t('action.grant'), 'primary grant', () =>
      send('floor:grant', { requestId: row.request.id }),
    );
    const up = button(t('action.up'), 'small', () =>
      send('floor:reorder', { requestId: row.request.id, toIndex: row.index - 1 }),
    );
    const down = button(t('action.down'), 'small', () =>
      send('floor:reorder', { requestId: row.request.id, toIndex: row.index + 1 }),
    );
    const skip = button(t('action.skip'), 'small', () => send('floor:skip', { requestId: row.request.id }));
    const reject = button(t('action.reject'), 'small danger', () =>
      confirmThen(t('confirm.reject', { site: store.siteName(row.request.siteCode) }), () =>
        send('floor:reject', { requestId: row.request.id }),
      ),
    );
    const li = el(
      'li',
      { 'data-request': r.id, 'data-site': r.siteCode },
      el('figure', { class: 'thumb' }, video),
      el(
        'div',
        { class: 'queue-body' },
        el('div', { class: 'queue-head' }, name, waited),
        title,
        el('div', { class: 'buttons' }, grant, up, down, skip, reject),
      ),
    );
    return Object.assign(row, { el: li, video, name, title, waited, grant, up, down });
  },
  (row, r, index) => {
    const state = store.state as ConferenceState;
    row.request = r;
    row.index = index;
    setText(row.name, store.siteName(r.siteCode));
    setText(row.title, r.title);
    setDisabled(row.grant, state.phase !== 'in_session');
    setDisabled(row.up, index === 0);
    setDisabled(row.down, index === state.queue.length - 1);
    showTrack(row.video, view.camera(r.siteCode)?.track);
  },
);

function renderFloor(state: ConferenceState): void {
  const on = state.onAir;
  setHidden($('onair'), !on);
  setHidden($('onair-none'), Boolean(on));
  if (on) {
    setText($('onair-site'), store.siteName(on.siteCode));
    setText($('onair-title'), on.title);
  }
  // The speaking hall's connection is gone: said plainly; the chair keeps or ends the floor.
  setHidden($('onair-lost'), !on || store.status(on.siteCode) !== 'onAirLost');
  setText($('onair-lost-text'), t(on?.kept ? 'chair.onAirKept' : 'chair.onAirLost'));
  // Only a lost speaker (held, its clock stopped) has a hold that can run out.
  setHidden($('keep-button'), !on || on.pausedAt === undefined || Boolean(on.kept));
  showTrack($<HTMLVideoElement>('onair-video'), on ? view.camera(on.siteCode)?.track : undefined);
  queue.render(state.queue);
  setHidden($('queue-empty'), state.queue.length > 0);
  setText($('queue-count'), state.queue.length ? String(state.queue.length) : '');
  setDisabled($<HTMLButtonElement>('next-button'), state.queue.length === 0 || state.phase !== 'in_session');
  tick();
}

function tick(): void {
  const cd = countdown(store.state, store.serverNow());
  if (cd) {
    // While the speaker's connection is lost its clock stands still, and says so.
    setText($('onair-countdown'), cd.paused ? t('countdown.paused', { time: cd.text }) : cd.text);
    setAttr($('onair-countdown'), 'data-time', cd.time);
    setAttr($('onair-countdown'), 'data-paused', cd.paused ? 'true' : null);
  }
  const now = store.serverNow();
  for (const [, row] of queue.rows())
    setText(row.waited, t('chair.waiting', { time: clock(now - row.request.requestedAt) }));
}
setInterval(tick, 500);

// ------------------------------------------------------------------ agenda, presentation, layout

const agenda = new KeyedList<
  { index: number; title: string; site: string | null; sec: number | null; deck: string | null },
  HallRow
>(
  $('agenda'),
  (item) => String(item.index),
  () => {
    const state = el('span', { class: 'muted' });
    return { el: el('li', {}, el('span', {}), state), state };
  },
  (row, item) => {
    const current = item.index === store.state?.agenda.current;
    setAttr(row.el, 'data-index', String(item.index));
    setAttr(row.el, 'class', current ? 'current' : '');
    setAttr(row.el, 'aria-current', String(current));
    setText(row.el.firstChild as HTMLElement, item.title);
    const deckTitle = item.deck ? store.state?.decks?.find((d) => d.id === item.deck)?.title : undefined;
    const parts = [
      item.site ? store.siteName(item.site) : '',
      item.sec ? t('chair.minutes', { n: Math.round(item.sec / 60) }) : '',
      deckTitle ? t('chair.withDeck', { title: deckTitle }) : '',
    ];
    const extra = parts.filter(Boolean).join(' · ');
    setText(row.state, extra ? ` — ${extra}` : '');
  },
);

function renderAgenda(state: ConferenceState): void {
  setHidden($('agenda-empty'), state.agenda.items.length > 0);
  agenda.render(
    state.agenda.items.map((i, index) => ({
      index,
      title: i.title,
      site: i.speakerSite ?? null,
      sec: i.allottedSec,
      deck: i.deckId ?? null,
    })),
  );
}

interface OptionRow {
  el: HTMLOptionElement;
}
// The options are patched, never replaced, so a chair with the list open keeps it open.
const targets = new KeyedList<{ value: string; label: string }, OptionRow>(
  $('presentation-target'),
  (o) => o.value,
  (o) => ({ el: new Option(o.label, o.value) }),
  (row, o) => setText(row.el, o.label),
);

function renderPresentation(state: ConferenceState): void {
  const p = state.presentation;
  const holder = p
    ? p.kind === 'site'
      ? store.siteName(p.code)
      : p.principal === state.chairHolder
        ? t('chair.role')
        : p.principal
    : null;
  // What the halls see of it: the deck page, or the shared screen, when there is one.
  const slide = slideUrl(state);
  const screen = p ? view.screen(p.kind === 'site' ? p.code : p.principal)?.track : undefined;
  setHidden($('presentation-view'), !screen && !slide);
  showTrack($<HTMLVideoElement>('presentation-video'), slide ? undefined : screen);
  showImage($('presentation-view'), slide);
  setText(
    $('presentation-holder'),
    holder ? t('chair.presentationHolder', { holder }) : t('chair.presentationNone'),
  );
  const options = [{ value: `person:${state.chairHolder}`, label: t('chair.role') }];
  if (state.onAir)
    options.push({ value: `site:${state.onAir.siteCode}`, label: store.siteName(state.onAir.siteCode) });
  for (const s of store.halls)
    if (s.code !== state.onAir?.siteCode && store.presence(s.code)?.connected)
      options.push({ value: `site:${s.code}`, label: s.name });
  targets.render(options);
}

// ------------------------------------------------------------------ rendering

store.subscribe((changes) => {
  const state = store.state as ConferenceState;
  if (changes.roster) $('conference-title').textContent = store.joined?.conference.title ?? '';
  document.body.dataset.phase = state.phase;
  setText($('phase'), t(`phase.${state.phase}`));
  const next = NEXT_PHASE[state.phase];
  setHidden($('phase-button'), !next);
  if (next) setText($('phase-button'), t(next.label));
  renderHalls();
  if (changes.roster) {
    fitGrid(gridSize.width, gridSize.height);
    applySearch();
  }
  renderFloor(state);
  renderAgenda(state);
  renderPresentation(state);
  $('layouts')
    .querySelectorAll<HTMLButtonElement>('button')
    .forEach((b) => setAttr(b, 'aria-pressed', String(b.dataset.layout === state.layout)));
});
view.onChange(() => {
  if (!store.state) return;
  renderFloor(store.state);
  renderPresentation(store.state);
});
bindScreenShare(client, store, () => {
  const p = store.state?.presentation;
  return p?.kind === 'person' && p.principal === store.joined?.principal;
});
// Whoever holds the chair may show a deck and turn its pages (so may the token's holder).
bindDeckControls(store, client, () => store.state?.chairHolder === store.joined?.principal);
bindDeckUpload(store);
bindRecordingBadge(store);
bindRecordingToggle(client, store);
bindMinutes(client, store);

client.start();
