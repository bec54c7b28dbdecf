/**
 * SQLite (better-sqlite3, WAL, synchronous=NORMAL) behind the store port. The state is one
 * JSON row per conference; the minutes an append-only table. A commit is one transaction,
 * so a crash (kill -9) leaves either the old state with its minutes or the new one with its.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ConferenceState, MinuteEntry } from '../core/model';
import type { HealthSummary, HealthSummaryStore } from '../health/HealthMonitor';
import type { ConferenceStore, CredentialStore, Stored } from './store';

const SCHEMA_VERSION = 3;

/** The database file in a data directory (the server and the links CLI open the same one). */
export function storeFile(dataDir: string): string {
  return path.join(dataDir, 'hoinghi.sqlite');
}

interface MinuteRow {
  seq: number;
  at: number;
  type: string;
  actor: string | null;
  site_code: string | null;
  data: string;
}

export class SqliteStore implements ConferenceStore, CredentialStore, HealthSummaryStore {
  readonly #db: Database.Database;
  readonly #upsert: Database.Statement;
  readonly #append: Database.Statement;
  readonly #commit: (state: ConferenceState, minutes: MinuteEntry[]) => void;

  constructor(file: string) {
    // Private to the server's user: the directory 0700, the database 0600 (SQLite gives its WAL
    // and shared-memory files the database file's mode).
    const dir = path.dirname(file);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    fs.closeSync(fs.openSync(file, 'a', 0o600));
    fs.chmodSync(file, 0o600);
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit is in the WAL before it returns, so it survives a crash of the
    // process (kill -9); only an OS crash or power loss can lose the last commits. FULL would
    // fsync on every commit, and better-sqlite3 runs on the event loop: every join, leave and
    // command would stall all signalling for the length of an fsync.
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('foreign_keys = ON');
    this.#migrate();
    this.#upsert = this.#db.prepare(
      `INSERT INTO conference (id, state, updated_at) VALUES (@id, @state, @at)
       ON CONFLICT(id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
    );
    this.#append = this.#db.prepare(
      `INSERT INTO minutes (conference_id, seq, at, type, actor, site_code, data)
       VALUES (@conf, @seq, @at, @type, @actor, @site, @data)`,
    );
    this.#commit = this.#db.transaction((state: ConferenceState, minutes: MinuteEntry[]) => {
      this.#upsert.run({ id: state.id, state: JSON.stringify(state), at: Date.now() });
      for (const m of minutes) {
        this.#append.run({
          conf: state.id,
          seq: m.seq,
          at: m.at,
          type: m.type,
          actor: m.actor,
          site: m.siteCode,
          data: JSON.stringify(m.data),
        });
      }
    });
  }

  #migrate(): void {
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`the data file was written by a newer hoinghi (schema ${version} > ${SCHEMA_VERSION})`);
    }
    if (version < 1) {
      this.#db.exec(`
        CREATE TABLE conference (id TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at INTEGER NOT NULL);
        CREATE TABLE minutes (
          conference_id TEXT NOT NULL REFERENCES conference(id),
          seq INTEGER NOT NULL, at INTEGER NOT NULL, type TEXT NOT NULL,
          actor TEXT, site_code TEXT, data TEXT NOT NULL,
          PRIMARY KEY (conference_id, seq)
        ) WITHOUT ROWID;
        PRAGMA user_version = 1;
      `);
    }
    if (version < 2) {
      // One transaction, and idempotent: the server and the links CLI may open the file at once.
      this.#db.exec(`
        BEGIN IMMEDIATE;
        CREATE TABLE IF NOT EXISTS credential (
          principal TEXT PRIMARY KEY, generation INTEGER NOT NULL, reissued_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        PRAGMA user_version = 2;
        COMMIT;
      `);
    }
    if (version < 3) {
      this.#db.exec(`
        BEGIN IMMEDIATE;
        CREATE TABLE IF NOT EXISTS health_minute (
          site_code TEXT NOT NULL, minute INTEGER NOT NULL, sample TEXT NOT NULL,
          PRIMARY KEY (site_code, minute)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS health_minute_at ON health_minute (minute);
        PRAGMA user_version = 3;
        COMMIT;
      `);
    }
  }

  /** Each site's health, a row per minute; older than a day is dropped as new rows come. */
  saveHealth(rows: HealthSummary[]): void {
    const put = this.#db.prepare(
      `INSERT INTO health_minute (site_code, minute, sample) VALUES (?, ?, ?)
       ON CONFLICT(site_code, minute) DO UPDATE SET sample = excluded.sample`,
    );
    const prune = this.#db.prepare('DELETE FROM health_minute WHERE minute < ?');
    this.#db.transaction(() => {
      for (const r of rows) put.run(r.code, r.minute, JSON.stringify(r.sample));
      // By the rows' own clock (the monitor's), not this machine's.
      prune.run(Math.max(...rows.map((r) => r.minute)) - 24 * 3600_000);
    })();
  }

  loadHealth(since: number): HealthSummary[] {
    const rows = this.#db
      .prepare('SELECT site_code, minute, sample FROM health_minute WHERE minute >= ? ORDER BY minute')
      .all(since) as { site_code: string; minute: number; sample: string }[];
    return rows.map((r) => ({
      code: r.site_code,
      minute: r.minute,
      sample: JSON.parse(r.sample) as HealthSummary['sample'],
    }));
  }

  credentialGenerations(): Map<string, number> {
    const rows = this.#db.prepare('SELECT principal, generation FROM credential').all() as {
      principal: string;
      generation: number;
    }[];
    return new Map(rows.map((r) => [r.principal, r.generation]));
  }

  bumpCredential(principal: string, at: number): number {
    const row = this.#db
      .prepare(
        `INSERT INTO credential (principal, generation, reissued_at) VALUES (?, 1, ?)
         ON CONFLICT(principal) DO UPDATE SET generation = generation + 1, reissued_at = excluded.reissued_at
         RETURNING generation`,
      )
      .get(principal, at) as { generation: number };
    return row.generation;
  }

  minutesCount(id: string): number {
    const row = this.#db.prepare('SELECT COUNT(*) AS n FROM minutes WHERE conference_id = ?').get(id) as {
      n: number;
    };
    return row.n;
  }

  load(id: string): Stored | null {
    const row = this.#db.prepare('SELECT state FROM conference WHERE id = ?').get(id) as
      { state: string } | undefined;
    return row ? { state: JSON.parse(row.state) as ConferenceState, minutes: this.minutes(id) } : null;
  }

  commit(state: ConferenceState, minutes: MinuteEntry[]): void {
    this.#commit(state, minutes);
  }

  minutes(id: string): MinuteEntry[] {
    const rows = this.#db
      .prepare(
        'SELECT seq, at, type, actor, site_code, data FROM minutes WHERE conference_id = ? ORDER BY seq',
      )
      .all(id) as MinuteRow[];
    return rows.map((r) => ({
      seq: r.seq,
      at: r.at,
      type: r.type as MinuteEntry['type'],
      actor: r.actor,
      siteCode: r.site_code,
      data: JSON.parse(r.data) as MinuteEntry['data'],
    }));
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
