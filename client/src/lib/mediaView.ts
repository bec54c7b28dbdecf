/**
 * What a console receives, arranged for people: video tracks by who sends them, every audio
 * track playing in a hidden sink (the server decides what carries sound), and a tile renderer
 * that reuses video elements so switching layouts does not flicker.
 */
import type { ConferenceState } from '../../../protocol/conference';
import type { ConsumerOffer } from '../../../protocol/events';
import { type ConferenceClient, mark } from './ConferenceClient';
import { el, t } from './ui';

let pictureShown: () => void = () => undefined;
/** Resolves when a tile first shows a remote frame (a hall opens its camera after that). */
export const firstPicture = new Promise<void>((resolve) => (pictureShown = resolve));

interface Held {
  offer: ConsumerOffer;
  track: MediaStreamTrack;
}

export class MediaView {
  readonly #video = new Map<string, Held>();
  readonly #byConsumer = new Map<string, string>();
  readonly #audio = new Map<string, HTMLAudioElement>();
  readonly #listeners = new Set<() => void>();

  constructor(client: ConferenceClient, audioSink: HTMLElement) {
    client.on('track:added', ({ consumerId, offer, track }) => {
      if (offer.kind === 'audio') {
        const a = el('audio', { autoplay: '' });
        a.srcObject = new MediaStream([track]);
        void a.play().catch(() => undefined);
        audioSink.append(a);
        this.#audio.set(consumerId, a);
        return;
      }
      const key = keyOf(offer.principal, offer.source);
      this.#video.set(key, { offer, track });
      this.#byConsumer.set(consumerId, key);
      this.#changed();
    });
    client.on('track:removed', (consumerId) => {
      this.#audio.get(consumerId)?.remove();
      this.#audio.delete(consumerId);
      const key = this.#byConsumer.get(consumerId);
      if (!key) return;
      this.#byConsumer.delete(consumerId);
      this.#video.delete(key);
      this.#changed();
    });
  }

  onChange(fn: () => void): void {
    this.#listeners.add(fn);
  }

  camera(principal: string): Held | undefined {
    return this.#video.get(keyOf(principal, 'camera'));
  }

  screen(principal: string): Held | undefined {
    return this.#video.get(keyOf(principal, 'screen'));
  }

  cameras(): Held[] {
    return [...this.#video.values()].filter((h) => h.offer.source === 'camera');
  }

  #changed(): void {
    for (const fn of this.#listeners) fn();
  }
}

const keyOf = (principal: string, source: string) => `${principal}|${source}`;

export interface Tile {
  key: string;
  track: MediaStreamTrack | undefined;
  /** A deck page: shown as an image instead of a picture (the track is then undefined). */
  image?: string;
  label: string;
  size: 'large' | 'small';
  highlight?: boolean;
  dataset?: Record<string, string>;
}

/** Renders tiles into a container, keeping the video element of a tile that stays. */
export function renderTiles(container: HTMLElement, tiles: Tile[]): void {
  const existing = new Map<string, HTMLElement>();
  container
    .querySelectorAll<HTMLElement>(':scope > figure.tile')
    .forEach((f) => existing.set(f.dataset.key as string, f));
  const wanted = new Set(tiles.map((x) => x.key));
  for (const [key, fig] of existing) if (!wanted.has(key)) fig.remove();
  tiles.forEach((tile, index) => {
    let fig = existing.get(tile.key);
    if (!fig) {
      const video = el('video', { playsinline: '', autoplay: '' });
      video.muted = true;
      // The join benchmark's end point: the first remote frame decoded and ready to show.
      video.addEventListener(
        'loadeddata',
        () => {
          mark('first-remote-frame');
          pictureShown();
        },
        { once: true },
      );
      fig = el(
        'figure',
        { class: 'tile', 'data-key': tile.key },
        video,
        el('figcaption', {}, el('span', { class: 'tile-name' })),
      );
    }
    fig.className = `tile tile-${tile.size}${tile.highlight ? ' tile-highlight' : ''}`;
    showImage(fig, tile.image);
    for (const [k, v] of Object.entries(tile.dataset ?? {})) fig.dataset[k] = v;
    (fig.querySelector('.tile-name') as HTMLElement).textContent = tile.label;
    const video = fig.querySelector('video') as HTMLVideoElement;
    const current = (video.srcObject as MediaStream | null)?.getVideoTracks()[0];
    if (tile.track && current !== tile.track) {
      video.srcObject = new MediaStream([tile.track]);
      void video.play().catch(() => undefined);
    } else if (!tile.track && current) {
      video.srcObject = null;
    }
    if (container.children[index] !== fig) container.insertBefore(fig, container.children[index] ?? null);
  });
}

/** The deck page shown in a tile (an <img> over its video), or none. */
export function showImage(fig: HTMLElement, src: string | undefined): void {
  let img = fig.querySelector<HTMLImageElement>('img.slide');
  if (!src) {
    img?.remove();
    return;
  }
  if (!img) {
    img = el('img', { class: 'slide', alt: '' });
    img.addEventListener('load', () => {
      const page = Number(img?.dataset.page);
      // When the page a hall sees changed: the deck benchmark and tests read it.
      slideShown.push({ page, at: Date.now() });
      if (slideShown.length > 1000) slideShown.shift();
    });
    fig.prepend(img);
  }
  if (img.getAttribute('src') !== src) {
    img.dataset.page = /\/(\d+)\.png$/.exec(src)?.[1] ?? '';
    img.src = src;
  }
}

/** Deck pages this page has shown: page number and when it loaded (epoch ms). */
export const slideShown: { page: number; at: number }[] = [];
const prefetched = new Set<string>();

/** The address of a deck page; the next one is fetched ahead so a page turn shows at once. */
export function slideUrl(state: ConferenceState): string | undefined {
  const slide = state.slide;
  const deck = slide ? (state.decks ?? []).find((d) => d.id === slide.deckId) : undefined;
  if (!slide || !deck) return undefined;
  for (const p of [slide.page + 1, slide.page - 1]) {
    const next = `/decks/${deck.id}/${p}.png`;
    if (p >= 1 && p <= deck.pages && !prefetched.has(next)) {
      prefetched.add(next);
      new Image().src = next;
    }
  }
  return `/decks/${deck.id}/${slide.page}.png`;
}

/** The programme every site sees, per the chair's layout: the speaker, the chair, the presentation. */
export function programmeTiles(state: ConferenceState, view: MediaView, selfSite?: string): Tile[] {
  const siteName = (code: string) => state.sites.find((s) => s.code === code)?.name ?? code;
  const chair = view.camera(state.chairHolder);
  const central = state.sites.find((s) => s.kind === 'central');
  const chairTile = (size: Tile['size']): Tile => ({
    key: 'chair',
    track: chair?.track,
    label: `${t('chair.role')} — ${central?.name ?? ''}`,
    size,
  });
  // A hall on air sees the chair, not itself (it is not sent its own picture).
  const on = state.onAir && state.onAir.siteCode !== selfSite ? state.onAir : null;
  const speakerTile = (size: Tile['size']): Tile | null =>
    on
      ? {
          key: `site:${on.siteCode}`,
          track: view.camera(on.siteCode)?.track,
          label: siteName(on.siteCode),
          size,
          highlight: true,
        }
      : null;
  const p = state.presentation;
  const holder = p ? (p.kind === 'site' ? p.code : p.principal) : null;
  // The presentation: a deck page when one is shown, else the holder's shared screen.
  const slide = slideUrl(state);
  const shared = holder ? view.screen(holder) : undefined;
  const screen = slide ? { track: undefined } : shared;
  const screenTile = (size: Tile['size']): Tile | null =>
    slide
      ? { key: 'slide', track: undefined, image: slide, label: t('site.presentation'), size }
      : shared
        ? { key: 'screen', track: shared.track, label: t('site.presentation'), size }
        : null;
  const speaker = (): Tile[] =>
    on ? [speakerTile('large') as Tile, chairTile('small')] : [chairTile('large')];
  let tiles: (Tile | null)[];
  switch (state.layout) {
    case 'presentation':
      tiles = screen ? [screenTile('large')] : speaker();
      break;
    case 'speaker_presentation':
      tiles = screen ? [screenTile('large'), speakerTile('small'), chairTile('small')] : speaker();
      break;
    case 'grid':
      tiles = [chairTile('small'), speakerTile('small'), screenTile('small')];
      break;
    default:
      tiles = speaker();
  }
  return tiles.filter((x): x is Tile => x !== null);
}
