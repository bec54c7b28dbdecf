/**
 * What the recorders report to the control room (`recording:status`, chair, co-chair and
 * operators): the statement being recorded, the programme composite, the disk, the recent files
 * and problems. A recording that fails is reported here and in the log; the conference goes on.
 */

export type RecordingKind = 'statement' | 'programme';

/**
 * One recorded file; the chair, co-chair and operators download it through
 * `POST /api/recordings/:id/link` (a signed address valid for minutes).
 */
export interface RecordingFile {
  /** Also its file name without the extension: conference, site (or "programme"), start time. */
  id: string;
  kind: RecordingKind;
  /** The speaking site of a statement; null for the programme. */
  siteCode: string | null;
  /** The floor request of the statement; null for the programme. */
  requestId: string | null;
  startedAt: number;
  /** Null while it is being written. */
  endedAt: number | null;
  bytes: number;
  /** From the file itself once written (ffprobe); null until then or when it cannot be read. */
  durationMs: number | null;
  /** Streams in the file, e.g. ["video/VP8", "audio/opus", "audio/opus"]. */
  streams: string[];
  /** Finished and readable; false with `error` when the recorder failed. */
  ok: boolean;
  error?: string;
}

export type RecordingProblemKind =
  | 'disk' // below the free-space floor, or over the budget: recording stops, the conference goes on
  | 'recorder' // ffmpeg (or the composite page) died or could not start
  | 'stream' // the RTMP/SRT destination could not be reached
  | 'ingest'; // an RTP ingest stopped receiving

export interface RecordingProblem {
  at: number;
  kind: RecordingProblemKind;
  /** Which recording or site, when it concerns one. */
  subject: string | null;
  message: string;
}

export interface RecordingStatus {
  /** What the config allows: statements recorded on every grant; the programme composite on command. */
  enabled: { statements: boolean; programme: boolean; stream: boolean };
  /** The statement being recorded now. */
  statement: { id: string; siteCode: string; since: number } | null;
  /** The programme composite being recorded now (and whether its stream is up when configured). */
  programme: { id: string; since: number; bytes: number; stream: 'off' | 'up' | 'down' } | null;
  /**
   * The programme sent over RTP to halls' AV systems (`POST /api/rtp-out`): `up` while its ffmpeg
   * sends, `waiting` for the composite to start, `down` when it failed and is being started again.
   */
  outputs: {
    siteCode: string;
    ip: string;
    videoPort: number;
    audioPort: number;
    state: 'up' | 'down' | 'waiting';
  }[];
  disk: { freeBytes: number; usedBytes: number; budgetBytes: number; minFreeBytes: number; ok: boolean };
  /** The most recent files, newest first. */
  files: RecordingFile[];
  /** The most recent problems, newest first. */
  problems: RecordingProblem[];
}
