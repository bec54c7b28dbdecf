/**
 * Recording on the chair's and the operators' pages (the "ĐANG GHI" badge of every console is
 * ./recordingBadge.ts):
 *  - the start/stop button of the chair and the operators (#recording-toggle); a stop asks first;
 *  - download buttons (`button.recording-link[data-recording=id]`): a click asks the server for
 *    the file's short-lived address (with the page's credential) and downloads from there;
 *  - the minutes (#minutes, chair and operators): the lines since the conference began (fetched
 *    once joined, then as pushed), newest first, with a download on the lines of a recording.
 */
import type { MinuteEntry } from '../../../protocol/conference';
import type { ConferenceClient } from './ConferenceClient';
import { confirmThen } from './confirm';
import { KeyedList, el, setAttr, setDisabled, setHidden, setText } from './dom';
import { locale, timeOf } from './healthWords';
import { type MinuteLine, minuteLine } from './minutes';
import { failedRecordings, linkErrorText, mergeMinutes, recordingLink, recordingOf } from './recording';
import type { ConsoleStore } from './store';
import { runCommand, t, tokenFromLocation } from './ui';

const $ = (id: string) => document.getElementById(id);

/** The start/stop button (#recording-toggle): chair and operators; errors go to the notice line. */
export function bindRecordingToggle(client: ConferenceClient, store: ConsoleStore): void {
  const button = $('recording-toggle') as HTMLButtonElement | null;
  if (!button) return;
  let busy = false;
  let status = client.recordingStatus;
  const render = () => {
    const state = store.state;
    const on = Boolean(state?.recording);
    // Known to be off in the server's configuration: say so instead of offering it.
    const unavailable = !on && status !== undefined && !status.enabled.programme;
    setText(button, t(on ? 'recording.stop' : 'recording.start'));
    setAttr(button, 'data-recording', String(on));
    setAttr(button, 'class', on ? 'small danger recording-toggle' : 'small recording-toggle');
    setAttr(button, 'title', unavailable ? t('recording.notEnabled') : null);
    setDisabled(button, busy || !state || state.phase === 'closed' || unavailable);
  };
  const run = async (event: 'recording:start' | 'recording:stop') => {
    busy = true;
    render();
    await runCommand(client, event, {});
    busy = false;
    render();
  };
  button.addEventListener('click', () => {
    if (store.state?.recording) confirmThen(t('recording.confirmStop'), () => void run('recording:stop'));
    else void run('recording:start');
  });
  store.subscribe(render);
  client.on('recording', (s) => {
    status = s;
    render();
  });
}

/** A download button for one recording (its clicks are handled by `bindRecordingLinks`). */
export function recordingLinkButton(id: string, what = ''): HTMLButtonElement {
  return el(
    'button',
    {
      type: 'button',
      class: 'small recording-link',
      'data-recording': id,
      'aria-label': what ? t('recording.downloadFor', { what }) : t('recording.download'),
    },
    t('recording.download'),
  );
}

function showNotice(text: string): void {
  const notice = $('notice');
  if (!notice) return;
  notice.textContent = text;
  notice.hidden = false;
}

/** Starts the download of a file from the address the server gave (no credential in it). */
function download(url: string): void {
  const a = el('a', { href: url, download: '', rel: 'noopener', target: '_blank', hidden: '' });
  document.body.append(a);
  a.click();
  a.remove();
}

let linksBound = false;

/** One listener for every download button of the page, wherever it is. */
export function bindRecordingLinks(): void {
  if (linksBound) return;
  linksBound = true;
  const downloads: string[] = [];
  // Beside the store: tests read which downloads the page started.
  const page = (window as unknown as { hoinghi?: Record<string, unknown> }).hoinghi;
  if (page) page.recordingDownloads = downloads;
  document.addEventListener('click', (ev) => {
    const button = (ev.target as Element | null)?.closest<HTMLButtonElement>('button.recording-link');
    const id = button?.dataset.recording;
    if (!button || !id || button.disabled) return;
    button.disabled = true;
    setAttr(button, 'aria-busy', 'true');
    recordingLink(id, tokenFromLocation())
      .then((link) => {
        downloads.push(id);
        download(link.url);
      })
      .catch((e: unknown) => {
        const { key, params } = linkErrorText(e, (k) => t(k) !== k);
        showNotice(t('recording.linkFailed', { reason: t(key, params) }));
      })
      .finally(() => {
        button.disabled = false;
        setAttr(button, 'aria-busy', null);
      });
  });
}

// ------------------------------------------------------------------ the minutes

/** Lines kept and shown: the end of a long day's minutes is what a console needs. */
const MINUTES_SHOWN = 300;

interface MinuteRow {
  el: HTMLElement;
  link: HTMLElement;
  /** The line written into the row (a line never changes; only whether it offers a download). */
  line: MinuteLine;
  /** The recording its button downloads ('' for none). */
  recording: string;
}

interface MinuteItem {
  entry: MinuteEntry;
  recording: string | null;
}

/**
 * The minutes in #minutes (chair and operators): fetched from `/api/minutes.json` once joined
 * (again after a reconnection, for the lines missed meanwhile), then the pushed lines. A row is
 * written once, when its line arrives: a push patches only the new rows (and a download that a
 * later failure takes away).
 */
export function bindMinutes(client: ConferenceClient, store: ConsoleStore): void {
  const list = $('minutes');
  if (!list) return;
  const empty = $('minutes-empty');
  const status = $('minutes-status');
  let entries: MinuteEntry[] = [];
  let queued = false;

  const rows = new KeyedList<MinuteItem, MinuteRow>(
    list,
    (item) => String(item.entry.seq),
    ({ entry }) => {
      const line = minuteLine(entry, { t, siteName: (c) => store.siteName(c), locale: locale() });
      const link = el('span', { class: 'minute-link' });
      const li = el(
        'li',
        { class: 'minute', 'data-seq': String(entry.seq), 'data-type': entry.type },
        el('time', { class: 'minute-time', datetime: new Date(entry.at).toISOString() }, timeOf(entry.at)),
        el('span', { class: 'minute-label' }, line.label),
        el('span', { class: 'minute-site' }, line.site),
        el('span', { class: 'minute-detail' }, line.detail),
        link,
      );
      return { el: li, link, line, recording: '' };
    },
    (row, { recording }) => {
      if ((recording ?? '') === row.recording) return;
      row.recording = recording ?? '';
      const what = [row.line.label, row.line.site].filter(Boolean).join(', ');
      row.link.replaceChildren(...(recording ? [recordingLinkButton(recording, what)] : []));
    },
  );

  const render = () => {
    queued = false;
    const failed = failedRecordings(entries);
    const items: MinuteItem[] = [];
    for (let i = entries.length - 1; i >= 0; i -= 1) {
      const entry = entries[i] as MinuteEntry;
      items.push({ entry, recording: recordingOf(entry, failed) });
    }
    rows.render(items);
    if (empty) setHidden(empty, entries.length > 0);
  };
  const add = (more: readonly MinuteEntry[]) => {
    entries = mergeMinutes(entries, more, MINUTES_SHOWN);
    if (!queued) {
      queued = true;
      queueMicrotask(render);
    }
  };

  client.on('minutes', (more) => add(more));
  client.on('joined', () => {
    void fetchMinutes().then(
      (fetched) => {
        if (status) setText(status, '');
        add(fetched.slice(-MINUTES_SHOWN));
      },
      (e: unknown) => {
        if (status)
          setText(status, t('minutes.loadFailed', { message: e instanceof Error ? e.message : String(e) }));
      },
    );
  });
  bindRecordingLinks();
  render();
}

async function fetchMinutes(): Promise<MinuteEntry[]> {
  const res = await fetch('/api/minutes.json', {
    headers: { Authorization: `Bearer ${tokenFromLocation()}` },
    signal: AbortSignal.timeout(15_000),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const body = (await res.json()) as { minutes?: MinuteEntry[] };
  return Array.isArray(body.minutes) ? body.minutes : [];
}
