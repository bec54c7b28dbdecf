/**
 * The programme recorder: a page the server opens in headless Chromium (role `recorder`, never a
 * join link) to record and stream "the programme", what every hall sees. Headless Chromium cannot
 * capture its own tab, so the page composes itself into a 1280×720 canvas at 25 frames a second:
 * the tiles the halls' pages show for the chair's layout (programmeTiles, the same decisions as
 * site/main.ts), each video drawn from a hidden <video>, deck pages drawn from their images, a
 * caption per tile, and a bar with the conference title and the clock; a card with the title
 * when nobody is on screen. Every sound received is mixed with WebAudio into one track (and
 * played nowhere else). Canvas and mix go to a MediaRecorder (WebM, VP8 + Opus), whose pieces
 * are handed to the server every second. The contract with the server: ./contract.ts.
 */
import type { ConferenceState } from '../../../protocol/conference';
import { MediaView, type Tile, programmeTiles } from '../lib/mediaView';
import { bootConsole, t } from '../lib/ui';
import type { EgressStatus, RecorderGlobal } from './contract';

const W = 1280;
const H = 720;
const FPS = 25;
/** The bar on top: the conference title and the clock. */
const BAR = 48;
const MIME = 'video/webm;codecs=vp8,opus';
const FONT = 'sans-serif';
const COLOURS = {
  bg: '#0f1720',
  bar: '#1b2733',
  text: '#f2f5f8',
  muted: '#9fb0c0',
  highlight: '#ffcf33',
  frame: '#3c5064',
};

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const client = bootConsole({ publish: { camera: false, microphone: false }, autoPublish: false });
const canvas = $<HTMLCanvasElement>('programme');
const g = canvas.getContext('2d', { alpha: false }) as CanvasRenderingContext2D;
const sources = $('sources');
// Rendered (a display:none video may not keep its current frame), but out of sight.
Object.assign(sources.style, {
  position: 'fixed',
  left: '0',
  top: '0',
  width: '2px',
  height: '2px',
  overflow: 'hidden',
  opacity: '0',
  pointerEvents: 'none',
});
Object.assign(document.body.style, { margin: '0', background: '#000', overflow: 'hidden' });
Object.assign(canvas.style, { display: 'block', width: '100vw', height: '100vh', objectFit: 'contain' });

// ------------------------------------------------------------------ the page's figures

let recorder: MediaRecorder | undefined;
let stopping: Promise<void> | undefined;
/** Chunks are handed over one after the other, in order. */
let delivered: Promise<void> = Promise.resolve();
let peak = 0;

const figures: RecorderGlobal = {
  ready: false,
  chunks: 0,
  bytes: 0,
  frames: 0,
  lastError: null,
  audioPeak() {
    const p = peak;
    peak = 0;
    return p;
  },
  stop,
};
window.hoinghiRecorder = figures;

function sendStatus(status: EgressStatus): void {
  const egress = window.hoinghiEgress;
  const call = egress?.status
    ? () => egress.status?.(status)
    : window.hoinghiEgress_status
      ? () => window.hoinghiEgress_status?.(status)
      : undefined;
  if (call)
    void Promise.resolve()
      .then(call)
      .catch(() => undefined);
}

/** Something that stops or spoils the recording: kept, and told to the server. */
function fail(message: string): void {
  figures.lastError = message;
  sendStatus({ state: 'error', message });
}

// ------------------------------------------------------------------ what is received

// The programme's tracks by who sends them (the same view the halls' pages use). Its audio
// elements are muted below, in the same event (its listener runs first, being added first): the
// sound goes to the mix only. They stay, muted: Chromium has long fed a remote WebRTC track to
// WebAudio as silence unless a media element also plays it.
const audioSink = $('audio-sink');
const view = new MediaView(client, audioSink);

const audio = new AudioContext({ sampleRate: 48_000 });
const mix = audio.createGain();
const mixed = audio.createMediaStreamDestination();
const analyser = audio.createAnalyser();
analyser.fftSize = 2048;
mix.connect(mixed);
mix.connect(analyser);
const levels = new Float32Array(analyser.fftSize);

const videos = new Map<MediaStreamTrack, HTMLVideoElement>();
const byConsumer = new Map<string, { track: MediaStreamTrack; node?: MediaStreamAudioSourceNode }>();

client.on('track:added', ({ consumerId, offer, track }) => {
  if (offer.kind === 'audio') {
    audioSink.querySelectorAll('audio').forEach((a) => (a.muted = true));
    const node = audio.createMediaStreamSource(new MediaStream([track]));
    node.connect(mix);
    byConsumer.set(consumerId, { track, node });
    return;
  }
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.autoplay = true;
  video.srcObject = new MediaStream([track]);
  sources.append(video);
  void video.play().catch(() => undefined);
  videos.set(track, video);
  byConsumer.set(consumerId, { track });
});

client.on('track:removed', (consumerId) => {
  const held = byConsumer.get(consumerId);
  if (!held) return;
  byConsumer.delete(consumerId);
  held.node?.disconnect();
  const video = videos.get(held.track);
  if (video) {
    video.srcObject = null;
    video.remove();
    videos.delete(held.track);
  }
});

/** Deck pages as images, by address (the next and previous pages are fetched ahead by slideUrl). */
const images = new Map<string, HTMLImageElement>();
/** The last deck page drawn: shown while the next one loads, so a page turn does not flash black. */
let lastSlide: HTMLImageElement | undefined;

function slideImage(src: string): HTMLImageElement | undefined {
  let img = images.get(src);
  if (!img) {
    img = new Image();
    img.src = src;
    images.set(src, img);
    if (images.size > 20) images.delete(images.keys().next().value as string);
  }
  if (img.complete && img.naturalWidth > 0) return (lastSlide = img);
  return lastSlide;
}

// ------------------------------------------------------------------ drawing

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

const area: Rect = { x: 0, y: BAR, w: W, h: H - BAR };

/** A 16:9 box as large as fits in `r`, centred. */
function fit16x9(r: Rect): Rect {
  const w = Math.min(r.w, (r.h * 16) / 9);
  const h = (w * 9) / 16;
  return { x: r.x + (r.w - w) / 2, y: r.y + (r.h - h) / 2, w, h };
}

/**
 * Where each tile goes, from the sizes programmeTiles gave them: the first large tile fills the
 * picture and the small ones sit in its bottom right corner, one above the other (as on a hall's
 * screen); only small tiles (the grid layout) share the picture in two columns.
 */
function place(tiles: Tile[]): Rect[] {
  const large = tiles.findIndex((x) => x.size === 'large');
  if (large >= 0) {
    const w = Math.round(area.w * 0.3);
    const h = Math.round((w * 9) / 16);
    let small = 0;
    return tiles.map((_tile, i) => {
      if (i === large) return area;
      small += 1;
      return { x: area.x + area.w - 16 - w, y: area.y + area.h - small * (h + 16), w, h };
    });
  }
  const gap = 12;
  const cols = tiles.length <= 1 ? 1 : 2;
  const rows = Math.ceil(tiles.length / cols);
  const cell = fit16x9({
    x: 0,
    y: 0,
    w: (area.w - gap * (cols + 1)) / cols,
    h: (area.h - gap * (rows + 1)) / rows,
  });
  const top = area.y + (area.h - rows * cell.h - (rows - 1) * gap) / 2;
  return tiles.map((_tile, i) => {
    const row = Math.floor(i / cols);
    const inRow = Math.min(cols, tiles.length - row * cols);
    const left = area.x + (area.w - inRow * cell.w - (inRow - 1) * gap) / 2;
    return { x: left + (i % cols) * (cell.w + gap), y: top + row * (cell.h + gap), w: cell.w, h: cell.h };
  });
}

/** The text cut with an ellipsis to fit `max` pixels in the current font. */
function clip(text: string, max: number): string {
  if (g.measureText(text).width <= max) return text;
  let s = text;
  while (s.length > 1 && g.measureText(`${s}…`).width > max) s = s.slice(0, -1);
  return `${s}…`;
}

/** The picture a tile shows now, with its size, or none yet (no frame decoded, page not loaded). */
function pictureOf(tile: Tile): { source: CanvasImageSource; w: number; h: number } | undefined {
  if (tile.image) {
    const img = slideImage(tile.image);
    return img ? { source: img, w: img.naturalWidth, h: img.naturalHeight } : undefined;
  }
  const video = tile.track ? videos.get(tile.track) : undefined;
  if (!video || video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || !video.videoWidth) return undefined;
  return { source: video, w: video.videoWidth, h: video.videoHeight };
}

function drawTile(tile: Tile, r: Rect, picture: ReturnType<typeof pictureOf>): void {
  const large = tile.size === 'large';
  g.fillStyle = '#000';
  g.fillRect(r.x, r.y, r.w, r.h);
  if (picture) {
    const scale = Math.min(r.w / picture.w, r.h / picture.h);
    const w = picture.w * scale;
    const h = picture.h * scale;
    g.drawImage(picture.source, r.x + (r.w - w) / 2, r.y + (r.h - h) / 2, w, h);
  }
  const size = large ? 24 : 17;
  const band = Math.round(size * 1.7);
  g.fillStyle = 'rgba(0, 0, 0, 0.6)';
  g.fillRect(r.x, r.y + r.h - band, r.w, band);
  g.font = `${size}px ${FONT}`;
  g.fillStyle = COLOURS.text;
  g.textBaseline = 'middle';
  g.textAlign = 'left';
  g.fillText(clip(tile.label, r.w - 24), r.x + 12, r.y + r.h - band / 2);
  if (tile.highlight || !large) {
    const line = tile.highlight ? 4 : 2;
    g.strokeStyle = tile.highlight ? COLOURS.highlight : COLOURS.frame;
    g.lineWidth = line;
    g.strokeRect(r.x + line / 2, r.y + line / 2, r.w - line, r.h - line);
  }
}

/** Nobody on screen: the conference's title on a plain card. */
function drawCard(state: ConferenceState | undefined): void {
  g.fillStyle = COLOURS.bg;
  g.fillRect(area.x, area.y, area.w, area.h);
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  g.font = `bold 44px ${FONT}`;
  const words = (state?.title ?? t('app.name')).split(/\s+/);
  const lines: string[] = [];
  for (const word of words) {
    const last = lines[lines.length - 1];
    if (last !== undefined && g.measureText(`${last} ${word}`).width <= area.w - 160)
      lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  const shown = lines.slice(0, 3);
  const lineHeight = 58;
  const middle = area.y + area.h / 2 - 20;
  g.fillStyle = COLOURS.text;
  shown.forEach((line, i) =>
    g.fillText(clip(line, area.w - 160), W / 2, middle + (i - (shown.length - 1) / 2) * lineHeight),
  );
  g.font = `26px ${FONT}`;
  g.fillStyle = COLOURS.muted;
  const under = state ? `${t('app.name')} — ${t(`phase.${state.phase}`)}` : t('app.name');
  g.fillText(clip(under, area.w - 160), W / 2, middle + (shown.length / 2) * lineHeight + 40);
}

/** `?tz=Asia/Ho_Chi_Minh`: the clock's time zone (by default the browser's, i.e. the server's). */
const clockFormat = (() => {
  const options: Intl.DateTimeFormatOptions = {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
    hour12: false,
  };
  const tz = new URLSearchParams(window.location.search).get('tz');
  try {
    if (tz) return new Intl.DateTimeFormat('vi-VN', { ...options, timeZone: tz });
  } catch {
    // An unknown zone: the browser's own.
  }
  return new Intl.DateTimeFormat('vi-VN', options);
})();

function drawBar(state: ConferenceState | undefined): void {
  g.fillStyle = COLOURS.bar;
  g.fillRect(0, 0, W, BAR);
  g.textBaseline = 'middle';
  g.font = `20px ${FONT}`;
  const clock = clockFormat.format(new Date(client.serverNow()));
  const clockWidth = g.measureText(clock).width;
  g.textAlign = 'right';
  g.fillStyle = COLOURS.muted;
  g.fillText(clock, W - 16, BAR / 2);
  g.textAlign = 'left';
  g.fillStyle = COLOURS.text;
  g.font = `bold 22px ${FONT}`;
  g.fillText(clip(state?.title ?? t('app.name'), W - clockWidth - 64), 16, BAR / 2);
}

function draw(): void {
  const state = client.conference;
  drawBar(state);
  const tiles = state ? programmeTiles(state, view) : [];
  const pictures = tiles.map(pictureOf);
  if (!pictures.some(Boolean)) {
    drawCard(state);
    return;
  }
  g.fillStyle = '#000';
  g.fillRect(area.x, area.y, area.w, area.h);
  const rects = place(tiles);
  tiles.forEach((tile, i) => drawTile(tile, rects[i] as Rect, pictures[i]));
}

function sampleAudio(): void {
  analyser.getFloatTimeDomainData(levels);
  let sum = 0;
  for (const v of levels) sum += v * v;
  peak = Math.max(peak, Math.sqrt(sum / levels.length));
}

let drawFailed = false;
function frame(): void {
  if (stopping) return;
  try {
    draw();
    sampleAudio();
    figures.frames += 1;
  } catch (e) {
    // Said once, not 25 times a second; the next frames try again.
    if (!drawFailed) figures.lastError = `drawing: ${(e as Error).message}`;
    drawFailed = true;
  }
}

// The frame clock: a worker's timer (the page's own timers and requestAnimationFrame slow down
// or stop when the page is hidden); the page's own timer if no worker can be started.
let stopClock: () => void;
try {
  const worker = new Worker('/recorder-clock.js');
  worker.onmessage = frame;
  worker.postMessage(1000 / FPS);
  stopClock = () => worker.terminate();
} catch {
  const timer = setInterval(frame, 1000 / FPS);
  stopClock = () => clearInterval(timer);
}
frame();

// ------------------------------------------------------------------ recording

function toBase64(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    // A data: address; its type has a comma of its own (codecs=vp8,opus): cut at the marker.
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(';base64,') + 8));
    };
    reader.onerror = () => reject(reader.error ?? new Error('could not read a recorded piece'));
    reader.readAsDataURL(blob);
  });
}

async function deliver(blob: Blob): Promise<void> {
  figures.chunks += 1;
  figures.bytes += blob.size;
  const egress = window.hoinghiEgress;
  const chunk = egress ? (b: string) => egress.chunk(b) : window.hoinghiEgress_chunk;
  if (!chunk) return;
  try {
    await chunk(await toBase64(blob));
  } catch (e) {
    fail(`handing over a recorded piece: ${(e as Error).message ?? String(e)}`);
  }
}

async function startRecording(): Promise<void> {
  if (recorder || stopping) return;
  // Sound starts only if the browser allows it without a gesture (the server's Chromium is
  // started with --autoplay-policy=no-user-gesture-required).
  const resumed = await Promise.race([
    audio.resume().then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 2000)),
  ]);
  if (stopping) return;
  if (!resumed || audio.state !== 'running') fail(`the sound mix cannot start (${audio.state})`);
  if (!MediaRecorder.isTypeSupported(MIME)) {
    fail(`this browser cannot record ${MIME}`);
    return;
  }
  const [video] = canvas.captureStream(FPS).getVideoTracks();
  const [sound] = mixed.stream.getAudioTracks();
  if (!video || !sound) {
    fail('no canvas or sound track to record');
    return;
  }
  try {
    // A key frame every 2 s (Chromium's default is about every 200 frames): a receiver of the
    // RTP out, or a file part started mid-stream, shows pictures within 2 s.
    const options: MediaRecorderOptions & { videoKeyFrameIntervalDuration?: number } = {
      mimeType: MIME,
      videoBitsPerSecond: 2_500_000,
      audioBitsPerSecond: 128_000,
      videoKeyFrameIntervalDuration: 2000,
    };
    recorder = new MediaRecorder(new MediaStream([video, sound]), options);
  } catch (e) {
    fail(`MediaRecorder: ${(e as Error).message}`);
    return;
  }
  recorder.ondataavailable = (ev) => {
    if (ev.data.size > 0) delivered = delivered.then(() => deliver(ev.data));
  };
  recorder.onerror = (ev) => {
    const error = (ev as Event & { error?: DOMException }).error;
    fail(`MediaRecorder: ${error?.message ?? 'failed'}`);
  };
  recorder.start(1000);
  figures.ready = true;
  sendStatus({ state: 'recording' });
}

function stop(): Promise<void> {
  stopping ??= (async () => {
    stopClock();
    const r = recorder;
    if (r && r.state !== 'inactive') {
      // 'stop' comes after the last 'dataavailable': by then that piece is queued for delivery.
      await new Promise<void>((resolve) => {
        r.addEventListener('stop', () => resolve(), { once: true });
        r.stop();
      });
    }
    await delivered;
    client.stop();
    void audio.close().catch(() => undefined);
  })();
  return stopping;
}

client.on('joined', () => {
  void startRecording().catch((e: unknown) => fail(`starting the recording: ${String(e)}`));
});
client.on('state', (state, detail) => {
  // Refused (a bad or revoked credential) or closed by the server: no more programme to record.
  if ((state === 'refused' || state === 'closed') && !stopping)
    fail(`session ${state}${detail?.code ? `: ${detail.code}` : detail?.reason ? `: ${detail.reason}` : ''}`);
});
client.on('error', (e) => (figures.lastError = `${e.code}: ${e.message}`));

client.start();
