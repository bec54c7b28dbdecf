/**
 * Recording, as the consoles show it: elapsed times and sizes in words, which minutes lines
 * carry a download, the operator's recording problems as alerts (raised once, kept until
 * acknowledged), and the two HTTP calls (a file's short-lived download address; the list of
 * files). No DOM and no strings of the page here: unit-tested in tests/unit/recording-view.test.ts.
 */
import type { MinuteEntry } from '../../../protocol/conference';
import type { RecordingFile, RecordingProblem } from '../../../protocol/recording';

/** "0:07", "12:03", "1:02:03": a time span (elapsed since a start, a file's length). */
export function spanText(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** How long the recording that started at `since` has been going, by the server's clock. */
export function elapsedText(since: number, serverNow: number): string {
  return spanText(serverNow - since);
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'] as const;

/** "850 B", "3,4 MB", "120 GB" (decimal units, as disks are sold), in the page's locale. */
export function bytesText(bytes: number, locale: string): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < UNITS.length - 1) {
    v /= 1000;
    u += 1;
  }
  const digits = u > 0 && v < 10 ? 1 : 0;
  const n = new Intl.NumberFormat(locale, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return `${n.format(v)} ${UNITS[u]}`;
}

/** A file's length: from the file itself once known, else from its start and end. */
export function fileDurationMs(
  f: Pick<RecordingFile, 'durationMs' | 'startedAt' | 'endedAt'>,
): number | null {
  if (f.durationMs !== null) return f.durationMs;
  return f.endedAt !== null ? Math.max(0, f.endedAt - f.startedAt) : null;
}

/** A file can be downloaded once it is finished and readable. */
export function downloadable(f: Pick<RecordingFile, 'ok' | 'endedAt'>): boolean {
  return f.ok && f.endedAt !== null;
}

/**
 * The recording a minutes line offers for download: the `data.recording` of a statement that
 * ended or a file that was saved, unless that recording failed (a `recording.failed` line
 * names it, and names no file to fetch).
 */
export function recordingOf(
  entry: Pick<MinuteEntry, 'type' | 'data'>,
  failed: ReadonlySet<string> = new Set(),
): string | null {
  if (entry.type === 'recording.failed') return null;
  const id = entry.data.recording;
  return typeof id === 'string' && id !== '' && !failed.has(id) ? id : null;
}

/** The recordings named by `recording.failed` lines: their other lines get no download. */
export function failedRecordings(entries: readonly Pick<MinuteEntry, 'type' | 'data'>[]): Set<string> {
  const ids = new Set<string>();
  for (const e of entries) {
    const id = e.data.recording;
    if (e.type === 'recording.failed' && typeof id === 'string') ids.add(id);
  }
  return ids;
}

/**
 * Lines of the minutes merged by their number: the ones already held, then those fetched or
 * pushed (a line comes once however often it arrives), in order, the last `max` kept.
 */
export function mergeMinutes(
  held: readonly MinuteEntry[],
  more: readonly MinuteEntry[],
  max: number,
): MinuteEntry[] {
  const bySeq = new Map<number, MinuteEntry>();
  for (const e of held) bySeq.set(e.seq, e);
  for (const e of more) bySeq.set(e.seq, e);
  const all = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  return all.length > max ? all.slice(all.length - max) : all;
}

// ------------------------------------------------------------------ problems as alerts

export interface ProblemAlert {
  /** Stable for one problem: its time, kind, subject and message. */
  id: string;
  problem: RecordingProblem;
}

export function problemId(p: RecordingProblem): string {
  return `${p.at}|${p.kind}|${p.subject ?? ''}|${p.message}`;
}

/** Problems older than this when the page first hears of them were already someone's news. */
export const STALE_PROBLEM_MS = 10 * 60_000;
const SEEN_MAX = 1000;

/**
 * The operator's recording alerts. Every status carries the most recent problems: one not seen
 * before raises an alert, which stays until acknowledged (the problem may long be gone from
 * the status by then). The first status after the page opens raises only the problems of the
 * last STALE_PROBLEM_MS; the same problem seen again (another push, a reconnection) raises nothing.
 */
export class ProblemAlerts {
  /** Problems already seen, oldest first (at most SEEN_MAX: far more than a status lists). */
  readonly #seen = new Set<string>();
  readonly #open = new Map<string, ProblemAlert>();
  #first = true;

  /** Takes a status's problems; returns the alerts raised by it. */
  observe(problems: readonly RecordingProblem[], serverNow: number): ProblemAlert[] {
    const raised: ProblemAlert[] = [];
    for (const p of problems) {
      const id = problemId(p);
      if (this.#seen.has(id)) continue;
      this.#seen.add(id);
      if (this.#first && serverNow - p.at > STALE_PROBLEM_MS) continue;
      const alert = { id, problem: p };
      this.#open.set(id, alert);
      raised.push(alert);
    }
    this.#first = false;
    for (const id of this.#seen) {
      if (this.#seen.size <= SEEN_MAX) break;
      this.#seen.delete(id);
    }
    return raised;
  }

  ack(id: string): void {
    this.#open.delete(id);
  }

  ackAll(): void {
    this.#open.clear();
  }

  /** Open alerts, newest problem first. */
  list(): ProblemAlert[] {
    return [...this.#open.values()].sort((a, b) => b.problem.at - a.problem.at);
  }
}

// ------------------------------------------------------------------ HTTP

/** A refused or failed call: the HTTP status (0: no answer) and the server's error code, if any. */
export class RecordingHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RecordingLink {
  /** A short-lived address of the file, with no credential in it. */
  url: string;
  expiresAt: number;
}

type Fetch = (input: string, init: RequestInit) => Promise<Response>;
interface HttpOptions {
  origin?: string;
  fetchFn?: Fetch;
}

const TIMEOUT_MS = 15_000;

async function call(path: string, method: string, token: string, opts: HttpOptions): Promise<unknown> {
  const { origin = window.location.origin, fetchFn = fetch as Fetch } = opts;
  let res: Response;
  try {
    res = await fetchFn(new URL(path, origin).href, {
      method,
      headers: { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (e) {
    throw new RecordingHttpError(0, 'NETWORK', e instanceof Error ? e.message : String(e));
  }
  const body = (await res.json().catch(() => null)) as {
    error?: { code?: unknown; message?: unknown };
  } | null;
  if (!res.ok) {
    const code = typeof body?.error?.code === 'string' ? body.error.code : `HTTP_${res.status}`;
    const message = typeof body?.error?.message === 'string' ? body.error.message : res.statusText;
    throw new RecordingHttpError(res.status, code, message);
  }
  return body;
}

/** `POST /api/recordings/:id/link` with the page's credential: where to download the file from. */
export async function recordingLink(
  id: string,
  token: string,
  opts: HttpOptions = {},
): Promise<RecordingLink> {
  const body = (await call(`/api/recordings/${encodeURIComponent(id)}/link`, 'POST', token, opts)) as {
    url?: unknown;
    expiresAt?: unknown;
  } | null;
  if (typeof body?.url !== 'string' || body.url === '')
    throw new RecordingHttpError(200, 'BAD_ANSWER', 'no url in the answer');
  return { url: body.url, expiresAt: typeof body.expiresAt === 'number' ? body.expiresAt : 0 };
}

/** `GET /api/recordings`: the files, for a page that has no status pushed yet. */
export async function recordingFiles(token: string, opts: HttpOptions = {}): Promise<RecordingFile[]> {
  const body = (await call('/api/recordings', 'GET', token, opts)) as { files?: unknown } | null;
  return Array.isArray(body?.files) ? (body.files as RecordingFile[]) : [];
}

/** What to tell the user when a download could not start: an i18n key with its parameters. */
export function linkErrorText(
  e: unknown,
  known: (key: string) => boolean,
): { key: string; params: Record<string, string> } {
  if (!(e instanceof RecordingHttpError))
    return { key: 'error.generic', params: { code: 'INTERNAL', message: String(e) } };
  if (e.status === 0) return { key: 'recording.linkNetwork', params: { message: e.message } };
  if (e.status === 404) return { key: 'recording.linkNotFound', params: {} };
  if (known(`error.${e.code}`)) return { key: `error.${e.code}`, params: { message: e.message } };
  if (e.status === 401 || e.status === 403) return { key: 'error.FORBIDDEN', params: {} };
  return { key: 'error.generic', params: { code: e.code, message: e.message } };
}
