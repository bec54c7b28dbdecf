/**
 * The chair's panel: lifecycle, the speaker queue (grant, grant next, skip, reject, reorder),
 * the site on air with its remaining time (revoke, extend), the agenda, the presentation token,
 * the layout of every screen, and the grid of all sites with their state and live picture.
 * Keyboard: N = grant next, R = revoke. Irreversible actions ask for confirmation.
 */
import type { ConferenceState, Phase } from '../../../protocol/conference';
import type {
  CommandEventName,
  ClientToServerEvents,
  SiteInfo,
  SitePresence,
} from '../../../protocol/events';
import { MediaView } from '../lib/mediaView';
import { STATUS_KEY, clock, siteStatus } from '../lib/roster';
import { bootConsole, el, qualityFromLocation, showError, t } from '../lib/ui';

const client = bootConsole({
  publish: { camera: true, microphone: true },
  quality: qualityFromLocation(),
});

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const view = new MediaView(client, $('audio-sink'));
const presence = new Map<string, SitePresence>();
const tiles = new Map<string, HTMLElement>();
let sites: SiteInfo[] = [];

// ------------------------------------------------------------------ commands

async function send<E extends CommandEventName>(
  event: E,
  payload: Parameters<ClientToServerEvents[E]>[0],
): Promise<void> {
  try {
    await client.command(event, payload);
    $('notice').hidden = true;
  } catch (e) {
    showError(e);
  }
}

/** Asks before doing something that cannot be undone. */
function confirmThen(text: string, action: () => void): void {
  const dialog = $<HTMLDialogElement>('confirm');
  $('confirm-text').textContent = text;
  const ok = $('confirm-ok');
  const cancel = $('confirm-cancel');
  const done = (yes: boolean) => {
    ok.onclick = null;
    cancel.onclick = null;
    dialog.close();
    if (yes) action();
  };
  ok.onclick = () => done(true);
  cancel.onclick = () => done(false);
  dialog.showModal();
}

const siteName = (code: string) => sites.find((s) => s.code === code)?.name ?? code;

const NEXT_PHASE: Partial<Record<Phase, { event: CommandEventName; label: string; confirm?: string }>> = {
  scheduled: { event: 'conference:open', label: 'action.open' },
  open: { event: 'conference:start', label: 'action.start' },
  in_session: { event: 'conference:conclude', label: 'action.conclude', confirm: 'confirm.conclude' },
  concluded: { event: 'conference:close', label: 'action.close', confirm: 'confirm.close' },
};

$('phase-button').addEventListener('click', () => {
  const next = client.conference && NEXT_PHASE[client.conference.phase];
  if (!next) return;
  const go = () => void send(next.event, {});
  if (next.confirm) confirmThen(t(next.confirm), go);
  else go();
});

function revoke(): void {
  const on = client.conference?.onAir;
  if (on)
    confirmThen(t('confirm.revoke', { site: siteName(on.siteCode) }), () => void send('floor:revoke', {}));
}
$('revoke-button').addEventListener('click', revoke);
$('extend-button').addEventListener('click', () => void send('floor:extend', { seconds: 60 }));
$('next-button').addEventListener('click', () => void send('floor:next', {}));
$('agenda-next').addEventListener('click', () => void send('agenda:next', {}));
$('agenda-grant').addEventListener('click', () => void send('agenda:grant', {}));
$('presentation-give').addEventListener('click', () => {
  const v = $<HTMLSelectElement>('presentation-target').value;
  if (!v) return;
  const [kind, id] = v.split(':') as ['site' | 'person', string];
  void send('presentation:give', { to: kind === 'site' ? { kind, code: id } : { kind, principal: id } });
});
$('presentation-release').addEventListener('click', () => void send('presentation:release', {}));
$('layouts').addEventListener('click', (ev) => {
  const layout = (ev.target as HTMLElement).dataset.layout as ConferenceState['layout'] | undefined;
  if (layout) void send('layout:set', { layout });
});

document.addEventListener('keydown', (ev) => {
  const target = ev.target as HTMLElement;
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName))
    return;
  if ($<HTMLDialogElement>('confirm').open) return;
  if (ev.key === 'n' || ev.key === 'N') void send('floor:next', {});
  if (ev.key === 'r' || ev.key === 'R') revoke();
});

// ------------------------------------------------------------------ rendering

client.on('joined', (info) => {
  $('conference-title').textContent = info.conference.title;
  sites = info.sites;
  for (const p of info.presence) presence.set(p.code, p);
  buildGrid();
  render();
});
client.on('presence', (p) => {
  presence.set(p.code, p);
  render();
});
client.on('conference', () => render());
view.onChange(() => renderVideo());
client.on('local:stream', (stream) => {
  const self = $<HTMLVideoElement>('self');
  self.srcObject = stream;
  void self.play().catch(() => undefined);
});

function buildGrid(): void {
  const grid = $('sites');
  grid.replaceChildren();
  tiles.clear();
  for (const s of sites.filter((x) => x.kind !== 'central')) {
    const video = el('video', { playsinline: '', autoplay: '' });
    video.muted = true;
    const tile = el(
      'figure',
      { class: 'tile', 'data-site': s.code, 'data-status': 'offline' },
      video,
      el('figcaption', {}, el('span', { class: 'tile-name' }, s.name), el('span', { class: 'tile-state' })),
    );
    grid.append(tile);
    tiles.set(s.code, tile);
  }
}

function renderVideo(): void {
  for (const [code, tile] of tiles) {
    const video = tile.querySelector('video') as HTMLVideoElement;
    const track = view.camera(code)?.track;
    const current = (video.srcObject as MediaStream | null)?.getVideoTracks()[0];
    if (track && track !== current) {
      video.srcObject = new MediaStream([track]);
      void video.play().catch(() => undefined);
    } else if (!track && current) video.srcObject = null;
  }
}

function render(): void {
  const state = client.conference;
  if (!state || !sites.length) return;
  document.body.dataset.phase = state.phase;
  $('phase').textContent = t(`phase.${state.phase}`);
  const next = NEXT_PHASE[state.phase];
  const phaseButton = $('phase-button');
  phaseButton.hidden = !next;
  if (next) phaseButton.textContent = t(next.label);

  let connected = 0;
  for (const [code, tile] of tiles) {
    const status = siteStatus(state, code, presence.get(code));
    if (status !== 'offline') connected += 1;
    tile.dataset.status = status;
    tile.dataset.connected = String(status !== 'offline');
    (tile.querySelector('.tile-state') as HTMLElement).textContent = t(STATUS_KEY[status]);
  }
  $('summary').textContent = t('chair.connected', { count: connected, total: tiles.size });
  renderOnAir(state);
  renderQueue(state);
  renderAgenda(state);
  renderPresentation(state);
  $('layouts')
    .querySelectorAll<HTMLButtonElement>('button')
    .forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.layout === state.layout)));
  renderVideo();
}

function renderOnAir(state: ConferenceState): void {
  const on = state.onAir;
  $('onair').hidden = !on;
  $('onair-none').hidden = Boolean(on);
  if (!on) return;
  $('onair-site').textContent = siteName(on.siteCode);
  $('onair-title').textContent = on.title;
  tick();
}

function tick(): void {
  const state = client.conference;
  const on = state?.onAir;
  if (on) {
    const remaining = on.endsAt - client.serverNow();
    const cd = $('onair-countdown');
    cd.textContent = remaining >= 0 ? clock(remaining) : `-${clock(-remaining)}`;
    cd.dataset.time = remaining <= 0 ? 'expired' : on.warned ? 'warning' : 'ok';
  }
  const now = client.serverNow();
  document.querySelectorAll<HTMLElement>('#queue [data-requested-at]').forEach((li) => {
    (li.querySelector('.waited') as HTMLElement).textContent = t('chair.waiting', {
      time: clock(now - Number(li.dataset.requestedAt)),
    });
  });
}
setInterval(tick, 500);

function button(label: string, cls: string, onClick: () => void, disabled = false): HTMLButtonElement {
  const b = el('button', { type: 'button', class: cls }, label);
  b.disabled = disabled;
  b.addEventListener('click', onClick);
  return b;
}

function renderQueue(state: ConferenceState): void {
  const list = $('queue');
  $('queue-empty').hidden = state.queue.length > 0;
  ($('next-button') as HTMLButtonElement).disabled = state.queue.length === 0 || state.phase !== 'in_session';
  list.replaceChildren(
    ...state.queue.map((r, i) =>
      el(
        'li',
        { 'data-request': r.id, 'data-site': r.siteCode, 'data-requested-at': String(r.requestedAt) },
        el(
          'div',
          { class: 'queue-head' },
          el('strong', {}, siteName(r.siteCode)),
          el('span', { class: 'waited muted' }),
        ),
        el('p', { class: 'queue-title' }, r.title),
        el(
          'div',
          { class: 'buttons' },
          button(
            t('action.grant'),
            'primary grant',
            () => void send('floor:grant', { requestId: r.id }),
            state.phase !== 'in_session',
          ),
          button(
            t('action.up'),
            'small',
            () => void send('floor:reorder', { requestId: r.id, toIndex: i - 1 }),
            i === 0,
          ),
          button(
            t('action.down'),
            'small',
            () => void send('floor:reorder', { requestId: r.id, toIndex: i + 1 }),
            i === state.queue.length - 1,
          ),
          button(t('action.skip'), 'small', () => void send('floor:skip', { requestId: r.id })),
          button(t('action.reject'), 'small danger', () =>
            confirmThen(
              t('confirm.reject', { site: siteName(r.siteCode) }),
              () => void send('floor:reject', { requestId: r.id }),
            ),
          ),
        ),
      ),
    ),
  );
  tick();
}

function renderAgenda(state: ConferenceState): void {
  $('agenda-empty').hidden = state.agenda.items.length > 0;
  $('agenda').replaceChildren(
    ...state.agenda.items.map((item, i) =>
      el(
        'li',
        {
          class: i === state.agenda.current ? 'current' : '',
          'aria-current': String(i === state.agenda.current),
        },
        item.title,
        item.speakerSite ? el('span', { class: 'muted' }, ` — ${siteName(item.speakerSite)}`) : '',
      ),
    ),
  );
}

function renderPresentation(state: ConferenceState): void {
  const p = state.presentation;
  const holder = p
    ? p.kind === 'site'
      ? siteName(p.code)
      : p.principal === state.chairHolder
        ? t('chair.role')
        : p.principal
    : null;
  $('presentation-holder').textContent = holder
    ? t('chair.presentationHolder', { holder })
    : t('chair.presentationNone');
  const select = $<HTMLSelectElement>('presentation-target');
  const previous = select.value;
  const options = [new Option(t('chair.role'), `person:${state.chairHolder}`)];
  if (state.onAir) options.push(new Option(siteName(state.onAir.siteCode), `site:${state.onAir.siteCode}`));
  for (const s of sites) {
    if (s.kind !== 'central' && s.code !== state.onAir?.siteCode && presence.get(s.code)?.connected) {
      options.push(new Option(s.name, `site:${s.code}`));
    }
  }
  select.replaceChildren(...options);
  if (options.some((o) => o.value === previous)) select.value = previous;
}

client.start();
