/** Operator view: every site with its connection state, what it sends, and roll call. */
import type { SiteInfo, SitePresence } from '../../../protocol/events';
import { STATUS_KEY, siteStatus } from '../lib/roster';
import { bootConsole, el, showError, t } from '../lib/ui';

const client = bootConsole({
  publish: { camera: false, microphone: false },
});

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const presence = new Map<string, SitePresence>();
let sites: SiteInfo[] = [];

client.on('joined', (info) => {
  $('conference-title').textContent = info.conference.title;
  sites = info.sites.filter((s) => s.kind !== 'central');
  for (const p of info.presence) presence.set(p.code, p);
  render();
});
client.on('presence', (p) => {
  presence.set(p.code, p);
  render();
});
client.on('conference', () => render());

async function mark(code: string, status: 'present' | 'absent'): Promise<void> {
  try {
    await client.command('rollcall:mark', { siteCode: code, status });
  } catch (e) {
    showError(e);
  }
}

function render(): void {
  const state = client.conference;
  if (!state) return;
  let connected = 0;
  $('rows').replaceChildren(
    ...sites.map((s) => {
      const p = presence.get(s.code);
      const status = siteStatus(state, s.code, p);
      if (status !== 'offline') connected += 1;
      const roll = state.sites.find((x) => x.code === s.code)?.rollCall ?? 'unknown';
      const media = p?.connected ? `${p.camera ? '🎥' : '—'} ${p.microphone ? '🎤' : '—'}` : '';
      const present = el('button', { type: 'button', class: 'small' }, t('action.present'));
      present.addEventListener('click', () => void mark(s.code, 'present'));
      const absent = el('button', { type: 'button', class: 'small' }, t('action.absent'));
      absent.addEventListener('click', () => void mark(s.code, 'absent'));
      return el(
        'tr',
        { 'data-site': s.code, 'data-status': status },
        el('td', {}, s.name),
        el('td', { class: 'status' }, t(STATUS_KEY[status])),
        el('td', {}, media),
        el('td', {}, el('span', { class: `roll roll-${roll}` }, t(`rollcall.${roll}`)), ' ', present, absent),
      );
    }),
  );
  $('summary').textContent = t('chair.connected', { count: connected, total: sites.length });
}

client.start();
