/**
 * The recordings on disk and what the control room is told of them: each file with a small
 * JSON beside it (so the list survives a restart), the disk budget and free-space floor, and the
 * recent problems. Both recorders (statements, programme) register their files and problems here;
 * `recording:status` is pushed from `onStatus`.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type {
  RecordingFile,
  RecordingKind,
  RecordingProblem,
  RecordingProblemKind,
  RecordingStatus,
} from '../../../protocol/recording';
import { createLogger } from '../logger';
import { probe } from './ffmpeg';

const log = createLogger('recording');

const MAX_PROBLEMS = 20;
const MAX_FILES_SHOWN = 50;
const MB = 1024 * 1024;
/** A recording id (also its file name without extension): what the download route accepts. */
export const RECORDING_ID = /^[a-z0-9-]{1,64}_[a-z0-9-]{1,48}_\d{8}T\d{6}Z(?:-\d{1,3})?$/;

export interface RecordingsOptions {
  dir: string;
  conferenceId: string;
  budgetMb: number;
  minFreeMb: number;
  enabled: RecordingStatus['enabled'];
}

interface Events {
  status: [];
}

export class Recordings extends EventEmitter<Events> {
  readonly #opts: RecordingsOptions;
  readonly #files = new Map<string, RecordingFile>();
  readonly #problems: RecordingProblem[] = [];
  statement: RecordingStatus['statement'] = null;
  programme: RecordingStatus['programme'] = null;
  outputs: RecordingStatus['outputs'] = [];
  #pending = false;
  /** For tests: the free space the disk check sees is this many bytes instead (a full disk). */
  freeBytesOverride: number | null = null;

  constructor(opts: RecordingsOptions) {
    super();
    this.#opts = opts;
    fs.mkdirSync(opts.dir, { recursive: true });
    for (const name of fs.readdirSync(opts.dir)) {
      if (!name.endsWith('.json')) continue;
      try {
        const f = JSON.parse(fs.readFileSync(path.join(opts.dir, name), 'utf8')) as RecordingFile;
        if (RECORDING_ID.test(f.id)) this.#files.set(f.id, f);
      } catch (e) {
        log.warn('unreadable recording record; skipped', { file: name, error: e });
      }
    }
  }

  get dir(): string {
    return this.#opts.dir;
  }

  get enabled(): RecordingStatus['enabled'] {
    return this.#opts.enabled;
  }

  /** A new id: conference, site (or "programme"), UTC start time; unique in this directory. */
  newId(subject: string, at: number): string {
    const t = new Date(at)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const base = `${this.#opts.conferenceId}_${subject.toLowerCase()}_${t}`;
    let id = base;
    for (let i = 2; this.#files.has(id) || fs.existsSync(this.file(id)); i++) id = `${base}-${i}`;
    return id;
  }

  file(id: string): string {
    return path.join(this.#opts.dir, `${id}.mkv`);
  }

  /** Starts the record of a file being written. */
  begin(
    id: string,
    kind: RecordingKind,
    siteCode: string | null,
    requestId: string | null,
    at: number,
  ): RecordingFile {
    const f: RecordingFile = {
      id,
      kind,
      siteCode,
      requestId,
      startedAt: at,
      endedAt: null,
      bytes: 0,
      durationMs: null,
      streams: [],
      ok: false,
    };
    this.#files.set(id, f);
    this.#save(f);
    this.changed();
    return f;
  }

  /** Finishes a file's record (after ffmpeg ended and ffprobe read it). */
  finish(id: string, fields: Partial<RecordingFile>): RecordingFile | undefined {
    const f = this.#files.get(id);
    if (!f) return undefined;
    Object.assign(f, fields, { bytes: this.#size(id) });
    this.#save(f);
    this.changed();
    return f;
  }

  /**
   * Closes the record of a file ffmpeg has finished (or left behind): reads it back with ffprobe
   * and keeps its duration and streams. `readable`: ffprobe found streams and a duration, so it
   * can be linked; `ok` besides says nothing failed while it was written.
   */
  async seal(
    id: string,
    ffprobe: string,
    failure: string | null,
  ): Promise<{ file: RecordingFile; readable: boolean } | undefined> {
    const p = await probe(ffprobe, this.file(id));
    const readable = p.durationMs !== null && p.streams.length > 0;
    const file = this.finish(id, {
      endedAt: Date.now(),
      durationMs: p.durationMs,
      streams: p.streams,
      ok: readable && failure === null,
      ...(failure ? { error: failure } : !readable ? { error: 'the file cannot be read' } : {}),
    });
    return file && { file, readable };
  }

  get(id: string): RecordingFile | undefined {
    return this.#files.get(id);
  }

  list(): RecordingFile[] {
    return [...this.#files.values()].sort((a, b) => b.startedAt - a.startedAt);
  }

  problem(kind: RecordingProblemKind, subject: string | null, message: string): void {
    log.warn(`recording problem: ${message}`, { kind, subject });
    this.#problems.unshift({ at: Date.now(), kind, subject, message });
    this.#problems.length = Math.min(this.#problems.length, MAX_PROBLEMS);
    this.changed();
  }

  /** Free space, used space, and whether another recording may be written. */
  disk(): RecordingStatus['disk'] {
    let free = Number.MAX_SAFE_INTEGER;
    try {
      const st = fs.statfsSync(this.#opts.dir);
      free = st.bavail * st.bsize;
    } catch (e) {
      // Gone while stopping (a test's directory removed): nothing to warn about then.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        log.warn('cannot read the free space of the recordings directory', { error: e });
    }
    if (this.freeBytesOverride !== null) free = this.freeBytesOverride;
    let used = 0;
    for (const f of this.#files.values()) used += f.endedAt === null ? this.#size(f.id) : f.bytes;
    const budget = this.#opts.budgetMb * MB;
    const minFree = this.#opts.minFreeMb * MB;
    return {
      freeBytes: free,
      usedBytes: used,
      budgetBytes: budget,
      minFreeBytes: minFree,
      ok: free >= minFree && used < budget,
    };
  }

  /** Why no more may be written now, in words; null when the disk allows it. */
  diskRefusal(): string | null {
    const d = this.disk();
    if (d.ok) return null;
    return d.freeBytes < d.minFreeBytes
      ? `only ${Math.round(d.freeBytes / MB)} MiB free on the recordings' disk (floor ${Math.round(d.minFreeBytes / MB)} MiB)`
      : `the recordings take ${Math.round(d.usedBytes / MB)} MiB, their budget is ${Math.round(d.budgetBytes / MB)} MiB`;
  }

  status(): RecordingStatus {
    return {
      enabled: this.#opts.enabled,
      statement: this.statement,
      programme: this.programme,
      outputs: this.outputs,
      disk: this.disk(),
      files: this.list()
        .slice(0, MAX_FILES_SHOWN)
        .map((f) => (f.endedAt === null ? { ...f, bytes: this.#size(f.id) } : f)),
      problems: [...this.#problems],
    };
  }

  /** Something the status shows changed: one push per turn of the event loop. */
  changed(): void {
    if (this.#pending) return;
    this.#pending = true;
    setImmediate(() => {
      this.#pending = false;
      this.emit('status');
    });
  }

  #size(id: string): number {
    try {
      return fs.statSync(this.file(id)).size;
    } catch {
      return 0;
    }
  }

  #save(f: RecordingFile): void {
    try {
      fs.writeFileSync(path.join(this.#opts.dir, `${f.id}.json`), JSON.stringify(f));
    } catch (e) {
      log.warn('cannot write a recording record', { id: f.id, error: e });
    }
  }
}
