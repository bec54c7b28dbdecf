/** Chair page (minimal for now): the chair's own picture and a grid of every site with its state. */
import type { SiteInfo } from '../../../protocol/events';
import { ConferenceClient } from '../lib/ConferenceClient';
import {
  applyStrings,
  attachTrack,
  bindStatus,
  el,
  t,
  qualityFromLocation,
  tokenFromLocation,
  videoElement,
} from '../lib/ui';

applyStrings();
// The operator's and the wall's screens watch; only the chair and co-chair publish from here.
const viewOnly = ['/operator', '/wall'].includes(window.location.pathname);
const client = new ConferenceClient({
  token: tokenFromLocation(),
  publish: { camera: !viewOnly, microphone: !viewOnly },
  quality: qualityFromLocation(),
});
(window as unknown as { hoinghi: unknown }).hoinghi = { client };
bindStatus(client);

const grid = document.getElementById('sites') as HTMLElement;
const summary = document.getElementById('summary') as HTMLElement;
const self = document.getElementById('self') as HTMLVideoElement;
const tiles = new Map<string, HTMLElement>();
const connected = new Set<string>();
const byConsumer = new Map<string, string>();
let total = 0;

function setConnected(code: string, on: boolean): void {
  const tile = tiles.get(code);
  if (!tile) return; // the central bridge is not in the grid
  if (on) connected.add(code);
  else connected.delete(code);
  tile.dataset.connected = String(on);
  (tile.querySelector('.tile-state') as HTMLElement).textContent = t(on ? 'tile.online' : 'tile.offline');
  summary.textContent = t('chair.connected', { count: connected.size, total });
}

function renderGrid(sites: SiteInfo[]): void {
  grid.replaceChildren();
  tiles.clear();
  const provincial = sites.filter((s) => s.kind !== 'central');
  total = provincial.length;
  for (const s of provincial) {
    const tile = el(
      'figure',
      { class: 'tile', 'data-site': s.code, 'data-connected': 'false' },
      videoElement('video', true),
      el('figcaption', {}, el('span', { class: 'tile-name' }, s.name), el('span', { class: 'tile-state' })),
    );
    grid.append(tile);
    tiles.set(s.code, tile);
  }
}

client.on('joined', (info) => {
  document.getElementById('conference-title')!.textContent = info.conference.title;
  renderGrid(info.sites);
  connected.clear();
  for (const p of info.presence) setConnected(p.code, p.connected);
});

client.on('presence', (p) => setConnected(p.code, p.connected));

client.on('local:stream', (stream) => {
  self.srcObject = stream;
  void self.play().catch(() => undefined);
});

client.on('track:added', ({ consumerId, offer, track }) => {
  const tile = tiles.get(offer.site.code);
  if (!tile || offer.kind !== 'video') return;
  attachTrack(tile.querySelector('video') as HTMLVideoElement, track);
  byConsumer.set(consumerId, offer.site.code);
});

client.on('track:removed', (consumerId) => {
  const code = byConsumer.get(consumerId);
  byConsumer.delete(consumerId);
  const video = code ? tiles.get(code)?.querySelector('video') : undefined;
  if (video) video.srcObject = null;
});

client.start();
