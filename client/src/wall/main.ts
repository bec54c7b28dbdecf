/**
 * The central video wall: one full-screen mosaic of 64 tiles (8×8 at 1920×1080), the chair and
 * then every hall in roster order, each with its name. The hall on air and the chair are
 * framed and labelled; a hall that is not connected, sends no camera or whose picture stopped
 * shows that in words instead of a black tile. No page chrome: the connection badge appears
 * only when something is wrong (and, while the programme is recorded, a thin "ĐANG GHI" strip
 * above the mosaic, which gives up that height). Kiosk mode (`?kiosk=1`, or the K key; kept across reloads):
 * no cursor, no buttons, full screen at the first key or click.
 * The server sends the lowest simulcast layer for tiles and the highest for the hall on air.
 */
import type { ConferenceState } from '../../../protocol/conference';
import { countdown } from '../lib/countdown';
import { KeyedList, el, setAttr, setText, setVar, showTrack } from '../lib/dom';
import { MediaView, showImage, slideUrl } from '../lib/mediaView';
import { bindRecordingBadge } from '../lib/recordingBadge';
import { ConsoleStore } from '../lib/store';
import { bootConsole, t } from '../lib/ui';

const client = bootConsole({ publish: { camera: false, microphone: false } });
const store = new ConsoleStore(client);
const $ = (id: string) => document.getElementById(id) as HTMLElement;
const view = new MediaView(client, $('audio-sink'));

// ------------------------------------------------------------------ kiosk mode

const KIOSK_KEY = 'hoinghi.wall.kiosk';
const param = new URLSearchParams(window.location.search).get('kiosk');
if (param === '1') window.localStorage.setItem(KIOSK_KEY, '1');
if (param === '0') window.localStorage.removeItem(KIOSK_KEY);
const kiosk = () => window.localStorage.getItem(KIOSK_KEY) === '1';

function applyKiosk(): void {
  document.body.dataset.kiosk = String(kiosk());
}
function toggleKiosk(): void {
  if (kiosk()) window.localStorage.removeItem(KIOSK_KEY);
  else window.localStorage.setItem(KIOSK_KEY, '1');
  applyKiosk();
}
applyKiosk();
$('kiosk-switch').addEventListener('click', toggleKiosk);
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'k' || ev.key === 'K') toggleKiosk();
});
// Browsers allow full screen only from a gesture: the first key or click after a reload.
const goFullscreen = () => {
  if (kiosk() && !document.fullscreenElement)
    void document.documentElement.requestFullscreen?.().catch(() => undefined);
};
document.addEventListener('click', goFullscreen);
document.addEventListener('keydown', goFullscreen);

// ------------------------------------------------------------------ the mosaic

/** What a tile shows instead of a picture. */
type Signal = 'live' | 'offline' | 'nocamera' | 'lost' | 'waiting';

interface TileItem {
  key: string;
  code: string;
  /** The chair's camera is whoever holds the chair; a hall's is its own. */
  principal: string;
  label: string;
  role: 'chair' | 'speaker' | 'hall' | 'presentation';
  /** A deck page (the presentation tile, while a deck is shown). */
  image?: string;
}

interface TileRow {
  el: HTMLElement;
  video: HTMLVideoElement;
  name: HTMLElement;
  badge: HTMLElement;
  placeholder: HTMLElement;
  /** Decoded frames at the last check, and checks since they last moved. */
  frames: number;
  still: number;
  track: MediaStreamTrack | undefined;
  /** What the tile shows now (its role changes as the floor moves). */
  item: TileItem;
}

const tiles = new KeyedList<TileItem, TileRow>(
  $('mosaic'),
  (item) => item.key,
  (item) => {
    const video = el('video', { playsinline: '', autoplay: '' });
    video.muted = true;
    const name = el('span', { class: 'tile-name' });
    const badge = el('span', { class: 'tile-badge' });
    const placeholder = el('span', { class: 'placeholder' });
    const fig = el(
      'figure',
      { class: 'wall-tile', 'data-key': item.key, 'data-site': item.code },
      video,
      placeholder,
      badge,
      el('figcaption', {}, name),
    );
    const row: TileRow = {
      el: fig,
      video,
      name,
      badge,
      placeholder,
      frames: 0,
      still: 0,
      track: undefined,
      item,
    };
    // The first picture: live at once, not at the next check.
    video.addEventListener('loadeddata', () => {
      row.frames = Math.max(1, video.getVideoPlaybackQuality().totalVideoFrames);
      setSignal(row, row.item);
    });
    return row;
  },
  (row, item) => {
    row.item = item;
    setText(row.name, item.label);
    setAttr(row.el, 'data-role', item.role);
    setText(row.badge, t(BADGE[item.role]));
    const track =
      item.role === 'presentation' ? view.screen(item.principal)?.track : view.camera(item.principal)?.track;
    if (track !== row.track) {
      row.track = track;
      row.still = 0;
      row.frames = 0;
      // Packets stopping or coming back (the track mutes, unmutes): say so now, not at the next check.
      const again = () => setSignal(row, row.item);
      track?.addEventListener('mute', again);
      track?.addEventListener('unmute', again);
    }
    showTrack(row.video, item.image ? undefined : track);
    showImage(row.el, item.image);
    setSignal(row, item);
  },
);

const BADGE: Record<TileItem['role'], string> = {
  chair: 'chair.role',
  speaker: 'tile.onAir',
  presentation: 'site.presentation',
  hall: '',
};

function signalOf(row: TileRow, item: TileItem): Signal {
  const hall = item.role === 'hall' || item.role === 'speaker';
  const p = hall ? store.presence(item.code) : undefined;
  if (hall && !p?.connected) return 'offline';
  if (hall && !p?.camera) return 'nocamera';
  if (item.image) return 'live';
  if (!row.track || row.frames === 0) return 'waiting';
  // Two checks (4 s) without a new frame, or no packets at all (muted): the picture stopped.
  if (row.track.muted || row.still >= 2) return 'lost';
  return 'live';
}

const SIGNAL_TEXT: Record<Exclude<Signal, 'live'>, string> = {
  offline: 'tile.offline',
  nocamera: 'wall.noCamera',
  lost: 'wall.noSignal',
  waiting: 'wall.waiting',
};

function setSignal(row: TileRow, item: TileItem): void {
  const signal = signalOf(row, item);
  setAttr(row.el, 'data-signal', signal);
  setText(row.placeholder, signal === 'live' ? '' : t(SIGNAL_TEXT[signal]));
}

let items: TileItem[] = [];

function render(): void {
  const state = store.state as ConferenceState;
  const on = state.onAir?.siteCode;
  const central = store.central;
  // The presentation (a deck page, else a shared screen) in the layouts that show it: a 4×4
  // block at the top left, the 64 tiles around it.
  const p = state.presentation;
  const holder = p ? (p.kind === 'site' ? p.code : p.principal) : state.chairHolder;
  const slide = slideUrl(state);
  const presenting =
    (slide !== undefined || view.screen(holder) !== undefined) &&
    (state.layout === 'presentation' || state.layout === 'speaker_presentation');
  items = [
    ...(presenting
      ? [
          {
            key: 'presentation',
            code: p?.kind === 'site' ? p.code : (central?.code ?? ''),
            principal: holder,
            label: p?.kind === 'site' ? store.siteName(p.code) : t('chair.role'),
            role: 'presentation' as const,
            image: slide,
          },
        ]
      : []),
    {
      key: 'chair',
      code: central?.code ?? '',
      principal: state.chairHolder,
      label: central?.name ?? t('chair.role'),
      role: 'chair',
    },
    ...store.halls.map((s): TileItem => ({
      key: `site:${s.code}`,
      code: s.code,
      principal: s.code,
      label: s.name,
      role: s.code === on ? 'speaker' : 'hall',
    })),
  ];
  tiles.render(items);
  // 8×8 for 64 tiles on a 16:9 screen; fewer halls, fewer columns (tiles stay 16:9). With the
  // presentation the same columns and two more rows: its block takes 16 cells.
  const n = items.length - (presenting ? 1 : 0);
  const cols = Math.max(presenting ? 4 : 1, Math.ceil(Math.sqrt(n)));
  const mosaic = $('mosaic');
  setVar(mosaic, '--cols', String(cols));
  setVar(mosaic, '--rows', String(Math.ceil((n + (presenting ? 16 : 0)) / cols)));
  setAttr(mosaic, 'data-presenting', String(presenting));
  document.body.dataset.onAir = on ?? '';
  setText($('conference-title'), store.joined?.conference.title ?? '');
  tick();
}

/** Every 2 s: whose picture stopped (decoded frames not moving), and the speaker's time. */
function check(): void {
  for (const item of items) {
    const row = tiles.get(item.key);
    if (!row) continue;
    const frames = row.track ? row.video.getVideoPlaybackQuality().totalVideoFrames : 0;
    row.still = row.track && frames === row.frames && frames > 0 ? row.still + 1 : 0;
    row.frames = frames;
    setSignal(row, item);
  }
}
setInterval(check, 2000);

function tick(): void {
  const cd = countdown(store.state, store.serverNow());
  const on = store.state?.onAir;
  const row = on ? tiles.get(`site:${on.siteCode}`) : undefined;
  if (row && cd) {
    setText(
      row.badge,
      `${t('tile.onAir')} ${cd.paused ? t('countdown.paused', { time: cd.text }) : cd.text}`,
    );
    setAttr(row.badge, 'data-time', cd.time);
  }
}
setInterval(tick, 500);

store.subscribe(() => render());
bindRecordingBadge(store);
view.onChange(() => {
  if (store.state) render();
});

client.start();
