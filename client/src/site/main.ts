/**
 * Provincial hall page. The programme starts at once; the technician checks camera and
 * microphone (preview, level meter, device choice) and then starts sending. The hall requests
 * the floor with a statement title, sees its place in the queue, and when on air a large
 * countdown with the warning before the end. `?auto=1` starts sending with the default devices
 * (a kiosk set up once).
 */
import type { ConferenceState } from '../../../protocol/conference';
import { mark, videoConstraints } from '../lib/ConferenceClient';
import { countdown } from '../lib/countdown';
import { setHidden, setText } from '../lib/dom';
import { MediaView, firstPicture, programmeTiles, renderTiles, slideShown } from '../lib/mediaView';
import { bindDeckControls } from '../lib/deckControls';
import { bindDeckUpload } from '../lib/deckUpload';
import { bindRecordingBadge } from '../lib/recordingBadge';
import { bindScreenShare } from '../lib/screenShare';
import { ConsoleStore } from '../lib/store';
import { bootConsole, qualityFromLocation, runCommand, t } from '../lib/ui';

mark('script');
const auto = new URLSearchParams(window.location.search).get('auto') === '1';
const quality = qualityFromLocation();
const client = bootConsole({
  publish: { camera: true, microphone: true },
  autoPublish: auto,
  publishAfter: firstPicture,
  quality,
});
// Connecting is on the way to the first picture: start it before setting up the page. (The
// handlers below are attached in this same task, before any event can arrive.)
client.start();

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const programme = $('programme');
const waiting = $('waiting');
const view = new MediaView(client, $('audio-sink'));
const store = new ConsoleStore(client);
let mySite = '';

store.subscribe((changes) => {
  const info = store.joined;
  if (changes.roster && info) {
    mySite = info.site.code;
    $('site-name').textContent = info.site.name;
    $('conference-title').textContent = info.conference.title;
    document.title = `${info.site.name} — ${t('app.name')}`;
  }
  render();
});
view.onChange(() => render());
const holdsToken = () => {
  const p = store.state?.presentation;
  return p?.kind === 'site' && p.code === mySite;
};
bindScreenShare(client, store, holdsToken);
bindDeckControls(store, client, holdsToken);
bindDeckUpload(store);
bindRecordingBadge(store);
(window as unknown as { hoinghi: { slideShown: typeof slideShown } }).hoinghi.slideShown = slideShown;

client.on('local:stream', (stream) => {
  const self = $<HTMLVideoElement>('self');
  self.srcObject = stream;
  void self.play().catch(() => undefined);
  $('self-figure').hidden = false;
  $('setup').hidden = true;
  stopMeter();
});

// ------------------------------------------------------------------ floor

$<HTMLFormElement>('request-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = $<HTMLInputElement>('request-title');
  void runCommand(client, 'floor:request', { title: input.value }).then((ok) => {
    if (ok) input.value = '';
  });
});

$('withdraw-button').addEventListener('click', () => {
  const mine = client.conference?.queue.find((r) => r.siteCode === mySite);
  if (mine) void runCommand(client, 'floor:withdraw', { requestId: mine.id });
});

function render(): void {
  const state = store.state;
  if (!state || !store.joined) return;
  $('phase').textContent = t(`phase.${state.phase}`);
  document.body.dataset.phase = state.phase;
  programme.dataset.layout = state.layout;
  const tiles = programmeTiles(state, view, mySite);
  renderTiles(programme, tiles);
  waiting.hidden = tiles.some((x) => x.track || x.image);
  renderFloor(state);
}

function renderFloor(state: ConferenceState): void {
  const on = state.onAir;
  const mine = on?.siteCode === mySite;
  const position = state.queue.findIndex((r) => r.siteCode === mySite);
  const accepting = state.phase === 'open' || state.phase === 'in_session';
  document.body.dataset.floor = mine ? 'on-air' : position >= 0 ? 'queued' : 'idle';
  $('onair-banner').hidden = !mine;
  $('request-form').hidden = mine || position >= 0 || !accepting;
  $('not-open').hidden = accepting || mine || position >= 0;
  $('queued').hidden = position < 0;
  if (position >= 0) $('queue-position').textContent = t('site.queuePosition', { position: position + 1 });
  const speakerNow = $('speaker-now');
  setHidden(speakerNow, !on || mine);
  setText(speakerNow, on ? t('site.speakerNow', { site: store.siteName(on.siteCode) }) : '');
  tickCountdown();
}

function tickCountdown(): void {
  const on = client.conference?.onAir;
  if (!on || on.siteCode !== mySite) return;
  const cd = countdown(client.conference, client.serverNow());
  if (!cd) return;
  $('countdown').textContent = cd.paused ? t('countdown.paused', { time: cd.text }) : cd.text;
  const banner = $('onair-banner');
  banner.dataset.time = cd.time;
  const warning = $('time-warning');
  warning.hidden = cd.time === 'ok';
  warning.textContent = t(cd.time === 'expired' ? 'site.expired' : 'site.warning');
}
setInterval(tickCountdown, 250);

// ------------------------------------------------------------------ device check

let preview: MediaStream | undefined;
let meterStop: (() => void) | undefined;

function stopMeter(): void {
  meterStop?.();
  meterStop = undefined;
}

async function acquire(): Promise<void> {
  const cam = $<HTMLSelectElement>('camera-select').value;
  const mic = $<HTMLSelectElement>('mic-select').value;
  preview?.getTracks().forEach((x) => x.stop());
  stopMeter();
  try {
    preview = await navigator.mediaDevices.getUserMedia({
      // The previewed stream is the one published: capture it at the profile's size.
      video: videoConstraints(quality, cam || undefined),
      audio: { ...(mic ? { deviceId: { exact: mic } } : {}), echoCancellation: true, noiseSuppression: true },
    });
  } catch (e) {
    $('notice').textContent = t('error.MEDIA_ERROR', { message: (e as Error).message });
    $('notice').hidden = false;
    return;
  }
  const video = $<HTMLVideoElement>('preview');
  video.srcObject = preview;
  void video.play().catch(() => undefined);
  meterStop = meter(preview, $('mic-level'));
  await listDevices();
}

async function listDevices(): Promise<void> {
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [kind, id] of [
    ['videoinput', 'camera-select'],
    ['audioinput', 'mic-select'],
  ] as const) {
    const select = $<HTMLSelectElement>(id);
    const current = preview
      ?.getTracks()
      .find((x) => x.kind === (kind === 'videoinput' ? 'video' : 'audio'))
      ?.getSettings().deviceId;
    select.replaceChildren(
      ...devices
        .filter((d) => d.kind === kind)
        .map(
          (d, i) =>
            new Option(
              d.label || `${kind === 'videoinput' ? t('site.camera') : t('site.microphone')} ${i + 1}`,
              d.deviceId,
              false,
              d.deviceId === current,
            ),
        ),
    );
  }
}

/** A live microphone level meter (RMS of the signal), so the technician sees sound arrives. */
function meter(stream: MediaStream, bar: HTMLElement): () => void {
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const data = new Float32Array(analyser.fftSize);
  let raf = 0;
  const draw = () => {
    analyser.getFloatTimeDomainData(data);
    const rms = Math.sqrt(data.reduce((a, v) => a + v * v, 0) / data.length);
    const level = Math.min(1, rms * 4);
    bar.style.width = `${Math.round(level * 100)}%`;
    bar.dataset.level = level.toFixed(3);
    raf = requestAnimationFrame(draw);
  };
  draw();
  return () => {
    cancelAnimationFrame(raf);
    void ctx.close();
  };
}

$('camera-select').addEventListener('change', () => void acquire());
$('mic-select').addEventListener('change', () => void acquire());
$('start-button').addEventListener('click', () => {
  if (preview) void client.startPublishing(preview);
});

if (auto) $('setup').hidden = true;
else void acquire();
