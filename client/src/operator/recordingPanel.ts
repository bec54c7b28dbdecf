/**
 * The operator's recording panel (#recording-panel), from the recorders' status pushed to the
 * control room (`recording:status`): what is being recorded now (the statement of a hall; the
 * programme composite with its size and its stream), the disk (free space and budget, red when
 * recording had to stop), the recent files with their downloads, and the recent problems.
 * A new problem (a full disk, a dead recorder, an unreachable stream, an ingest gone quiet)
 * raises an alert at the top of the page, as the connection alerts do, until acknowledged.
 */
import type { RecordingFile, RecordingProblem, RecordingStatus } from '../../../protocol/recording';
import type { ConferenceClient } from '../lib/ConferenceClient';
import { KeyedList, el, setAttr, setDisabled, setHidden, setText } from '../lib/dom';
import { locale, timeOf } from '../lib/healthWords';
import {
  type ProblemAlert,
  ProblemAlerts,
  bytesText,
  downloadable,
  elapsedText,
  fileDurationMs,
  problemId,
  recordingFiles,
  spanText,
} from '../lib/recording';
import { bindRecordingLinks, recordingLinkButton } from '../lib/recordingView';
import type { ConsoleStore } from '../lib/store';
import { t, tokenFromLocation } from '../lib/ui';

export interface RecordingPanelView {
  /** Open alerts, newest first (tests read them). */
  readonly alerts: ProblemAlert[];
}

interface FileRow {
  el: HTMLElement;
  what: HTMLElement;
  time: HTMLElement;
  length: HTMLElement;
  size: HTMLElement;
  state: HTMLElement;
  link: HTMLElement;
  shown: string;
}

interface ProblemRow {
  el: HTMLElement;
}

interface AlertRow {
  el: HTMLElement;
}

/** "Phát biểu — Hà Nội", "Chương trình": what a file or a problem is about. */
function fileWhat(store: ConsoleStore, f: Pick<RecordingFile, 'kind' | 'siteCode'>): string {
  const kind = t(`recording.kind.${f.kind}`);
  return f.siteCode ? `${kind} — ${store.siteName(f.siteCode)}` : kind;
}

function problemText(store: ConsoleStore, p: RecordingProblem): { what: string; subject: string } {
  const known = store.halls.some((s) => s.code === p.subject);
  return {
    what: t(`recording.problem.${p.kind}`),
    subject: p.subject ? (known ? store.siteName(p.subject) : p.subject) : '',
  };
}

export function recordingPanel(client: ConferenceClient, store: ConsoleStore): RecordingPanelView {
  const $ = (id: string) => document.getElementById(id) as HTMLElement;
  const panel = $('recording-panel');
  const machine = new ProblemAlerts();
  /** The last status pushed. */
  let current = client.recordingStatus;
  /** The files from GET /api/recordings, until a status is pushed. */
  let fetched: RecordingFile[] | null = null;
  bindRecordingLinks();

  // ---------------------------------------------------------------- now

  function renderNow(status: RecordingStatus | undefined): void {
    const now = store.serverNow();
    const st = status?.statement ?? null;
    const pr = status?.programme ?? null;
    setHidden($('recording-waiting'), status !== undefined);
    // Asked for (every console says ĐANG GHI) but no recorder reports it: starting, or not running.
    const asked = store.state?.recording ?? null;
    const pending = status !== undefined && asked !== null && pr === null;
    setHidden($('recording-pending'), !pending);
    if (pending && asked)
      setText(
        $('recording-pending'),
        t('recording.programmePending', {
          time: timeOf(asked.since),
          elapsed: elapsedText(asked.since, now),
        }),
      );
    setHidden($('recording-nothing'), status === undefined || st !== null || pr !== null || pending);
    setHidden($('recording-statement'), !st);
    if (st)
      setText(
        $('recording-statement'),
        t('recording.statementNow', {
          site: store.siteName(st.siteCode),
          time: timeOf(st.since),
          elapsed: elapsedText(st.since, now),
        }),
      );
    setHidden($('recording-programme'), !pr);
    if (pr) {
      setText(
        $('recording-programme-text'),
        t('recording.programmeNow', {
          time: timeOf(pr.since),
          elapsed: elapsedText(pr.since, now),
          size: bytesText(pr.bytes, locale()),
        }),
      );
      const stream = $('recording-stream');
      setAttr(stream, 'data-stream', pr.stream);
      setText(stream, t(`recording.stream.${pr.stream}`));
    }
    const off = status
      ? [
          status.enabled.statements ? '' : t('recording.statementsOff'),
          status.enabled.programme ? '' : t('recording.programmeOff'),
        ].filter(Boolean)
      : [];
    setText($('recording-config'), off.join(' '));
    setHidden($('recording-config'), off.length === 0);
  }

  // ---------------------------------------------------------------- disk

  function renderDisk(status: RecordingStatus | undefined): void {
    const box = $('recording-disk');
    setHidden(box, !status);
    if (!status) return;
    const d = status.disk;
    const loc = locale();
    setAttr(box, 'data-ok', String(d.ok));
    setText(
      $('recording-disk-text'),
      t('recording.diskLine', {
        free: bytesText(d.freeBytes, loc),
        used: bytesText(d.usedBytes, loc),
        budget: bytesText(d.budgetBytes, loc),
      }),
    );
    setHidden($('recording-disk-bad'), d.ok);
  }

  // ---------------------------------------------------------------- files

  const files = new KeyedList<RecordingFile, FileRow>(
    $('recording-files'),
    (f) => f.id,
    (f) => {
      const what = el('span', { class: 'file-what' });
      const time = el('time', { class: 'file-time' });
      const length = el('span', { class: 'file-length' });
      const size = el('span', { class: 'file-size' });
      const state = el('span', { class: 'file-state' });
      const link = el('span', { class: 'file-link' });
      const li = el(
        'li',
        { class: 'recording-file', 'data-file': f.id },
        time,
        what,
        length,
        size,
        state,
        link,
      );
      return { el: li, what, time, length, size, state, link, shown: '' };
    },
    (row, f) => {
      setText(row.what, fileWhat(store, f));
      setAttr(row.time, 'datetime', new Date(f.startedAt).toISOString());
      setText(row.time, timeOf(f.startedAt));
      const ms = fileDurationMs(f);
      setText(row.length, ms === null ? '' : spanText(ms));
      setText(row.size, bytesText(f.bytes, locale()));
      const state = !f.ok ? 'failed' : f.endedAt === null ? 'writing' : 'ok';
      setAttr(row.el, 'data-state', state);
      setText(
        row.state,
        state === 'failed'
          ? t('recording.fileFailed', { error: f.error ?? '' })
          : state === 'writing'
            ? t('recording.fileWriting')
            : '',
      );
      const shown = downloadable(f) ? f.id : '';
      if (shown !== row.shown) {
        row.shown = shown;
        row.link.replaceChildren(...(shown ? [recordingLinkButton(f.id, fileWhat(store, f))] : []));
      }
    },
  );

  // ---------------------------------------------------------------- problems

  const problems = new KeyedList<RecordingProblem, ProblemRow>(
    $('recording-problems'),
    problemId,
    () => ({ el: el('li', {}) }),
    (row, p) => {
      const { what, subject } = problemText(store, p);
      setAttr(row.el, 'data-kind', p.kind);
      setText(row.el, [timeOf(p.at), what, subject, p.message].filter(Boolean).join(' — '));
    },
  );

  // ---------------------------------------------------------------- alerts

  const alertSection = $('recording-alerts');
  const ackAll = $('recording-ack-all') as HTMLButtonElement;
  const alertList = new KeyedList<ProblemAlert, AlertRow>(
    $('recording-alert-list'),
    (a) => a.id,
    (a) => {
      const { what, subject } = problemText(store, a.problem);
      const time = timeOf(a.problem.at);
      const ack = el(
        'button',
        { type: 'button', class: 'small', 'aria-label': t('recording.ackFor', { what, time }) },
        t('health.ack'),
      );
      ack.addEventListener('click', () => acknowledge(a.id));
      const li = el(
        'li',
        { class: 'recording-alert', 'data-kind': a.problem.kind, 'data-alert': a.id },
        el('time', { class: 'alert-time', datetime: new Date(a.problem.at).toISOString() }, time),
        el('strong', { class: 'alert-what' }, what),
        el('span', { class: 'alert-subject' }, subject),
        el('span', { class: 'alert-message' }, a.problem.message),
        ack,
      );
      return { el: li };
    },
    () => undefined,
  );

  function renderAlerts(): void {
    const open = machine.list();
    alertList.render(open);
    setText($('recording-alert-count'), String(open.length));
    setAttr(alertSection, 'data-count', String(open.length));
    setHidden(alertSection, open.length === 0);
    setDisabled(ackAll, open.length === 0);
  }

  function acknowledge(id: string): void {
    const open = machine.list();
    const i = open.findIndex((a) => a.id === id);
    machine.ack(id);
    renderAlerts();
    const next = open[i + 1] ?? open[i - 1];
    const target = next ? alertList.get(next.id)?.el.querySelector('button') : null;
    (target ?? $('health-alerts-title')).focus();
  }
  ackAll.addEventListener('click', () => {
    machine.ackAll();
    renderAlerts();
    $('health-alerts-title').focus();
  });

  // ---------------------------------------------------------------- wiring

  function render(): void {
    const status = current;
    renderNow(status);
    renderDisk(status);
    const list = status?.files ?? fetched ?? [];
    files.render(list);
    setHidden($('recording-no-files'), list.length > 0);
    // One row per problem, however often the status repeats it.
    const seen = new Set<string>();
    problems.render(
      (status?.problems ?? []).filter((p) => !seen.has(problemId(p)) && seen.add(problemId(p))),
    );
    setHidden($('recording-no-problems'), (status?.problems.length ?? 0) > 0);
    setAttr(panel, 'data-status', status ? 'known' : 'waiting');
  }

  client.on('recording', (status) => {
    current = status;
    if (machine.observe(status.problems, store.serverNow()).length) renderAlerts();
    render();
  });
  // No status pushed yet (the server sends it when it changes): the files at least.
  client.on('joined', () => {
    if (current) return;
    void recordingFiles(tokenFromLocation()).then(
      (list) => {
        fetched = list;
        render();
      },
      () => undefined,
    );
  });
  // The halls' names come with the roster, whether the programme is asked for with the state;
  // the times of what is being recorded now, every second.
  store.subscribe((changes) => (changes.roster ? render() : renderNow(current)));
  setInterval(() => renderNow(current), 1000);
  renderAlerts();
  render();

  return {
    get alerts() {
      return machine.list();
    },
  };
}
