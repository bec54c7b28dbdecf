/**
 * Central video wall: every connected site as a tile with its province name (scaled so 64 fit
 * one screen), the site on air highlighted and shown large with the chair. The server sends the
 * lowest simulcast layer for tiles and the highest for the speaker, so the downlink stays bounded.
 */
import type { ConferenceState } from '../../../protocol/conference';
import type { SiteInfo } from '../../../protocol/events';
import { MediaView, type Tile, renderTiles } from '../lib/mediaView';
import { bootConsole, t } from '../lib/ui';

const client = bootConsole({ publish: { camera: false, microphone: false } });

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const view = new MediaView(client, $('audio-sink'));
let sites: SiteInfo[] = [];

client.on('joined', (info) => {
  $('conference-title').textContent = info.conference.title;
  sites = info.sites;
  render();
});
client.on('conference', () => render());
view.onChange(() => render());

function render(): void {
  const state: ConferenceState | undefined = client.conference;
  if (!state) return;
  const name = (code: string) => sites.find((s) => s.code === code)?.name ?? code;
  const on = state.onAir;
  $('speaker-now').textContent = on ? t('site.speakerNow', { site: name(on.siteCode) }) : '';
  document.body.dataset.onAir = on?.siteCode ?? '';
  const stage: Tile[] = [];
  if (on)
    stage.push({
      key: `stage:${on.siteCode}`,
      track: view.camera(on.siteCode)?.track,
      label: name(on.siteCode),
      size: 'large',
      highlight: true,
    });
  const chair = view.camera(state.chairHolder);
  stage.push({
    key: 'stage:chair',
    track: chair?.track,
    label: t('chair.role'),
    size: on ? 'small' : 'large',
  });
  renderTiles($('stage'), stage);
  const mosaic = view
    .cameras()
    .filter((h) => h.offer.role === 'site')
    .sort(
      (a, b) =>
        sites.findIndex((s) => s.code === a.offer.site.code) -
        sites.findIndex((s) => s.code === b.offer.site.code),
    )
    .map((h): Tile => ({
      key: `tile:${h.offer.site.code}`,
      track: h.track,
      label: h.offer.site.name,
      size: 'small',
      highlight: h.offer.site.code === on?.siteCode,
      dataset: { site: h.offer.site.code },
    }));
  renderTiles($('mosaic'), mosaic);
  const n = Math.max(1, mosaic.length);
  $('mosaic').style.setProperty('--cols', String(Math.ceil(Math.sqrt((n * 16) / 9))));
}

client.start();
