/**
 * Uploading a PDF deck from a console: the file goes as the body of POST /api/decks (with the
 * console's credential), then the page follows the server's conversion (GET /api/decks/:id)
 * and shows its progress, and says in words why a deck was refused.
 */
import { KeyedList, el, setHidden, setText } from './dom';
import type { ConsoleStore } from './store';
import { t, tokenFromLocation } from './ui';

type Job =
  | { status: 'converting'; done: number; total: number }
  | { status: 'ready'; pages: number }
  | { status: 'failed'; code: string; message: string };

const POLL_MS = 400;

async function upload(file: File, title: string, onProgress: (job: Job) => void): Promise<Job> {
  const auth = { authorization: `Bearer ${tokenFromLocation()}` };
  const res = await fetch(`/api/decks?title=${encodeURIComponent(title)}`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/pdf' },
    body: file,
  });
  const answer = (await res.json().catch(() => ({}))) as {
    id?: string;
    error?: { code: string; message: string };
  };
  if (!res.ok || !answer.id)
    return {
      status: 'failed',
      code: answer.error?.code ?? 'FAILED',
      message: answer.error?.message ?? res.statusText,
    };
  for (;;) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    const job = (await (await fetch(`/api/decks/${answer.id}`, { headers: auth })).json()) as Job;
    if (job.status !== 'converting') return job;
    onProgress(job);
  }
}

/** The upload form and the list of decks, made inside #deck-upload-mount (the same on every console). */
function build(mount: HTMLElement): void {
  const title = el('input', {
    id: 'deck-title',
    maxlength: '200',
    'aria-label': t('decks.titlePlaceholder'),
  });
  title.placeholder = t('decks.titlePlaceholder');
  mount.append(
    el(
      'div',
      { class: 'deck-upload' },
      title,
      el('input', {
        id: 'deck-file',
        type: 'file',
        accept: 'application/pdf,.pdf',
        'aria-label': t('decks.title'),
      }),
      el('button', { id: 'deck-upload', type: 'button', class: 'primary' }, t('decks.upload')),
      el('progress', { id: 'deck-progress', hidden: '' }),
      el('span', { id: 'deck-status', role: 'status' }),
    ),
    el('ul', { id: 'deck-list', class: 'deck-list' }),
  );
}

/** Wires the upload form and the list of decks, made inside #deck-upload-mount. */
export function bindDeckUpload(store: ConsoleStore): void {
  const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
  build($('deck-upload-mount'));
  const button = $<HTMLButtonElement>('deck-upload');
  const fileInput = $<HTMLInputElement>('deck-file');
  const progress = $<HTMLProgressElement>('deck-progress');
  const status = $('deck-status');
  button.addEventListener('click', () => {
    const file = fileInput.files?.[0];
    if (!file) {
      setText(status, t('decks.pickFile'));
      return;
    }
    const title = $<HTMLInputElement>('deck-title').value.trim() || file.name.replace(/\.pdf$/i, '');
    button.disabled = true;
    setText(status, t('decks.uploading'));
    progress.removeAttribute('value');
    setHidden(progress, false);
    void upload(file, title, (job) => {
      if (job.status !== 'converting' || job.total === 0) return;
      progress.max = job.total;
      progress.value = job.done;
      setText(status, t('decks.converting', { done: job.done, total: job.total }));
    })
      .catch((e: unknown) => ({ status: 'failed', code: 'NETWORK', message: String(e) }) as Job)
      .then((job) => {
        button.disabled = false;
        setHidden(progress, true);
        if (job.status === 'ready') {
          setText(status, t('decks.ready', { title, pages: job.pages }));
          fileInput.value = '';
          $<HTMLInputElement>('deck-title').value = '';
        } else if (job.status === 'failed') {
          const key = `decks.error.${job.code}`;
          setText(status, t(key) !== key ? t(key) : t('decks.error.FAILED', { message: job.message }));
        }
        status.dataset.result = job.status;
      });
  });
  const list = new KeyedList<{ id: string; text: string }, { el: HTMLElement }>(
    $('deck-list'),
    (d) => d.id,
    () => ({ el: el('li', {}) }),
    (row, d) => setText(row.el, d.text),
  );
  store.subscribe(() =>
    list.render(
      (store.state?.decks ?? []).map((d) => ({
        id: d.id,
        text: t('deck.option', { title: d.title, pages: d.pages }),
      })),
    ),
  );
}
