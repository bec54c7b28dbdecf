/** Provincial hall page: publishes the hall's camera and microphone, shows the programme. */
import { ConferenceClient, mark } from '../lib/ConferenceClient';
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

mark('script');
applyStrings();
const client = new ConferenceClient({
  token: tokenFromLocation(),
  publish: { camera: true, microphone: true },
  quality: qualityFromLocation(),
});
(window as unknown as { hoinghi: unknown }).hoinghi = { client };
bindStatus(client);

const programme = document.getElementById('programme') as HTMLElement;
const waiting = document.getElementById('waiting') as HTMLElement;
const self = document.getElementById('self') as HTMLVideoElement;
const tiles = new Map<string, HTMLElement>();
const byConsumer = new Map<string, string>();

client.on('joined', (info) => {
  document.getElementById('site-name')!.textContent = info.site.name;
  document.getElementById('conference-title')!.textContent = info.conference.title;
  document.title = `${info.site.name} — ${t('app.name')}`;
});

client.on('local:stream', (stream) => {
  self.srcObject = stream;
  void self.play().catch(() => undefined);
});

client.on('track:added', ({ consumerId, offer, track }) => {
  let tile = tiles.get(offer.site.code);
  if (!tile) {
    const label = offer.role === 'chair' ? `${t('chair.role')} — ${offer.site.name}` : offer.site.name;
    tile = el(
      'figure',
      { class: 'tile tile-large', 'data-site': offer.site.code },
      videoElement('video', false),
    );
    tile.append(el('figcaption', {}, label));
    programme.append(tile);
    tiles.set(offer.site.code, tile);
  }
  const video = tile.querySelector('video') as HTMLVideoElement;
  attachTrack(video, track);
  if (offer.kind === 'video')
    video.addEventListener('loadeddata', () => mark('first-remote-frame'), { once: true });
  byConsumer.set(consumerId, offer.site.code);
  waiting.hidden = true;
});

client.on('track:removed', (consumerId) => {
  const code = byConsumer.get(consumerId);
  byConsumer.delete(consumerId);
  if (!code || [...byConsumer.values()].includes(code)) return;
  tiles.get(code)?.remove();
  tiles.delete(code);
  waiting.hidden = tiles.size > 0;
});

client.start();
