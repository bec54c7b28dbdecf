/**
 * Configuration: defaults (config/default.json) → a file (HOINGHI_CONFIG or --config) →
 * environment variables. Validated at start; an unknown key or a bad value stops the
 * server with a message naming the key.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/** The project root: the nearest directory above this file holding config/default.json (src or dist). */
function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'config', 'default.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`config/default.json not found above ${from}`);
  }
}
export const PROJECT_ROOT = findRoot(__dirname);
export const CONFIG_DIR = path.join(PROJECT_ROOT, 'config');

const port = z.number().int().min(1).max(65535);
const ipv4 = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}$/, 'an IPv4 address');
const logLevel = z.enum(['debug', 'info', 'warn', 'error']);
/** A health level's thresholds: a site is at least at that level when any figure reaches it. */
const thresholds = z.strictObject({
  lossPct: z.number().min(0).max(100),
  rttMs: z.number().int().min(1).max(60_000),
  jitterMs: z.number().int().min(1).max(60_000),
  /** mediasoup's stream score (0–10) at or below this. */
  score: z.number().int().min(0).max(10),
  /** Freezes of its programme the site's browser reported in one sample. */
  freezes: z.number().int().min(1).max(1000),
});

export const configSchema = z.strictObject({
  http: z.strictObject({
    host: z.string().min(1),
    port: port.or(z.literal(0)),
    /** Address people open (behind a proxy, with HTTPS); empty: derived from host/port. */
    publicUrl: z.union([z.literal(''), z.url()]),
  }),
  rtc: z.strictObject({
    listenIp: ipv4,
    /** The address browsers are told to send media to; empty: detected (first non-loopback IPv4). */
    announcedAddress: z.union([z.literal(''), ipv4, z.string().regex(/^[a-z0-9.-]+$/i, 'an address')]),
    /** UDP+TCP port of worker 1's WebRtcServer; worker N uses port + N - 1. 0 picks free ports (tests). */
    port: port.or(z.literal(0)),
  }),
  mediasoup: z.strictObject({
    /** 0: one worker per CPU core. */
    numWorkers: z.number().int().min(0).max(64),
    logLevel: z.enum(['debug', 'warn', 'error', 'none']),
  }),
  log: z.strictObject({ level: logLevel }),
  dataDir: z.string().min(1),
  conference: z.strictObject({
    id: z.string().regex(/^[a-z0-9-]{1,64}$/, 'lowercase letters, digits and dashes'),
    title: z.string().min(1).max(200),
    /** A roster name in config/rosters (vn-2021, vn-2025) or a path to a roster file. */
    roster: z.string().min(1),
    /** Time zone of the minutes export. */
    timezone: z.string().refine(validTimeZone, 'an IANA time zone such as Asia/Ho_Chi_Minh'),
  }),
  floor: z.strictObject({
    /** Allotted time of a grant when neither the chair nor the agenda item says otherwise. */
    defaultAllottedSec: z
      .number()
      .int()
      .min(10)
      .max(3 * 3600),
    /** The speaker is warned this long before the end. */
    warningSec: z.number().int().min(0).max(3600),
    /** At the end of the allotted time: only signal it, or end the floor after the grace period. */
    expiry: z.enum(['signal', 'end']),
    graceSec: z.number().int().min(0).max(3600),
  }),
  auth: z.strictObject({
    /** Signs the credentials. Empty: generated once and kept in dataDir/secret. */
    secret: z.union([z.literal(''), z.string().min(32, 'at least 32 characters')]),
    /** How long join links printed by `npm run links` stay valid. */
    linkTtlHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 366),
  }),
  signaling: z.strictObject({
    /**
     * Events per second one credential may send, all its sockets together (beyond that:
     * RATE_LIMITED), and the burst.
     */
    ratePerSec: z.number().int().min(1).max(100_000),
    burst: z.number().int().min(1).max(100_000),
    /** Sockets open at once on one credential (a hall reconnecting needs 2; more is abuse). */
    maxSocketsPerCredential: z.number().int().min(1).max(1000),
    /** New connections per minute on one credential, and the burst. */
    connectPerMin: z.number().int().min(1).max(100_000),
    connectBurst: z.number().int().min(1).max(100_000),
    /** After a site withdraws its request, seconds before it may request the floor again. */
    requestCooldownSec: z.number().int().min(0).max(3600),
  }),
  /** PDF decks: upload limits and the converter's (server/src/decks). */
  decks: z.strictObject({
    maxMb: z.number().int().min(1).max(1024),
    maxPages: z.number().int().min(1).max(2000),
    /** The whole conversion of one deck, seconds; beyond it the converter is killed. */
    convertTimeoutSec: z.number().int().min(1).max(3600),
    /** Address space of the converter process, MiB. */
    convertMemoryMb: z.number().int().min(64).max(16_384),
    /** Width of the page images, px. */
    pageWidth: z.number().int().min(320).max(4096),
  }),
  /**
   * Connection health and liveness (server/src/health, docs/operations.md): how often each
   * site is sampled, how long its history is kept, when it is lost, how long what it held is
   * kept for it, and the thresholds of its level (any figure past "poor" makes it poor; past
   * "degraded", degraded).
   */
  health: z.strictObject({
    sampleSec: z.number().int().min(2).max(5),
    historyMinutes: z
      .number()
      .int()
      .min(60)
      .max(24 * 60),
    /** No heartbeat (or, while media flowed, no RTP/RTCP) for this long: the site is lost. */
    lostAfterSec: z.number().int().min(3).max(300),
    /** A lost site's floor, queue places and presentation are kept this long, then released. */
    holdSec: z.number().int().min(0).max(3600),
    degraded: thresholds,
    poor: thresholds,
  }),
  /**
   * RTP in and out for the halls' AV systems (server/src/http/ingestApi.ts): the ports their
   * encoders send to (two per stream, RTP and RTCP), to open in the firewall (UDP).
   */
  ingest: z
    .strictObject({ portMin: port, portMax: port })
    .refine((v) => v.portMax - v.portMin >= 3, { message: 'portMax must be at least portMin + 3' }),
  /**
   * Recordings (server/src/recording): every statement on air, and the programme composite on
   * the chair's or an operator's command; where they go, how much disk they may take, and the
   * free space below which they stop (reported to the operators; the conference goes on).
   */
  recording: z.strictObject({
    /** Directory of the files; empty: dataDir/recordings. */
    dir: z.string(),
    statements: z.boolean(),
    programme: z.boolean(),
    /** Total size the recordings may reach, MiB. */
    budgetMb: z.number().int().min(1).max(100_000_000),
    /** Free space on the recordings' disk below which recording stops, MiB. */
    minFreeMb: z.number().int().min(0).max(100_000_000),
    ffmpeg: z.string().min(1),
    ffprobe: z.string().min(1),
    /** Chromium for the programme composite; empty: /usr/bin/chromium. */
    chromium: z.string(),
    /** Also stream the programme to this RTMP or SRT address while it is recorded; empty: no. */
    streamUrl: z.union([
      z.literal(''),
      z.string().regex(/^(rtmps?|srt):\/\/\S+$/, 'an rtmp://, rtmps:// or srt:// address'),
    ]),
    /** Bit rate of the composite's video, kbit/s. */
    videoKbps: z.number().int().min(300).max(20_000),
  }),
  /** GET /metrics (Prometheus): always with an operator's credential; without one, see below. */
  metrics: z.strictObject({
    /** Answer a scraper on this host (loopback, not through a proxy) without a credential. */
    allowLocalhost: z.boolean(),
  }),
});

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Environment variables and the config key each sets. Any other HOINGHI_* variable is refused. */
export const ENV_KEYS: Record<string, string> = {
  HOINGHI_HTTP_HOST: 'http.host',
  HOINGHI_HTTP_PORT: 'http.port',
  HOINGHI_PUBLIC_URL: 'http.publicUrl',
  HOINGHI_RTC_LISTEN_IP: 'rtc.listenIp',
  HOINGHI_ANNOUNCED_ADDRESS: 'rtc.announcedAddress',
  HOINGHI_RTC_PORT: 'rtc.port',
  HOINGHI_WORKERS: 'mediasoup.numWorkers',
  HOINGHI_MEDIASOUP_LOG_LEVEL: 'mediasoup.logLevel',
  HOINGHI_LOG_LEVEL: 'log.level',
  HOINGHI_DATA_DIR: 'dataDir',
  HOINGHI_CONFERENCE_ID: 'conference.id',
  HOINGHI_CONFERENCE_TITLE: 'conference.title',
  HOINGHI_ROSTER: 'conference.roster',
  HOINGHI_TIMEZONE: 'conference.timezone',
  HOINGHI_SECRET: 'auth.secret',
  HOINGHI_LINK_TTL_HOURS: 'auth.linkTtlHours',
  HOINGHI_FLOOR_DEFAULT_SEC: 'floor.defaultAllottedSec',
  HOINGHI_FLOOR_WARNING_SEC: 'floor.warningSec',
  HOINGHI_FLOOR_EXPIRY: 'floor.expiry',
  HOINGHI_FLOOR_GRACE_SEC: 'floor.graceSec',
  HOINGHI_RATE_PER_SEC: 'signaling.ratePerSec',
  HOINGHI_RATE_BURST: 'signaling.burst',
  HOINGHI_MAX_SOCKETS_PER_LINK: 'signaling.maxSocketsPerCredential',
  HOINGHI_REQUEST_COOLDOWN_SEC: 'signaling.requestCooldownSec',
  HOINGHI_DECK_MAX_MB: 'decks.maxMb',
  HOINGHI_DECK_MAX_PAGES: 'decks.maxPages',
  HOINGHI_DECK_TIMEOUT_SEC: 'decks.convertTimeoutSec',
  HOINGHI_HEALTH_SAMPLE_SEC: 'health.sampleSec',
  HOINGHI_LOST_AFTER_SEC: 'health.lostAfterSec',
  HOINGHI_HOLD_SEC: 'health.holdSec',
  HOINGHI_METRICS_ALLOW_LOCALHOST: 'metrics.allowLocalhost',
  HOINGHI_RECORDING_DIR: 'recording.dir',
  HOINGHI_RECORD_STATEMENTS: 'recording.statements',
  HOINGHI_STREAM_URL: 'recording.streamUrl',
};
/** Variables read elsewhere (setup, the client build, the config file path), not config keys. */
const ENV_OTHER = new Set([
  'HOINGHI_CONFIG',
  'HOINGHI_CACHE_DIR',
  'HOINGHI_CLIENT_OUT',
  'HOINGHI_SETUP_QUIET',
  'HOINGHI_SKIP_PREBUILT',
]);
const NUMERIC_KEYS = new Set([
  'http.port',
  'rtc.port',
  'mediasoup.numWorkers',
  'auth.linkTtlHours',
  'floor.defaultAllottedSec',
  'floor.warningSec',
  'floor.graceSec',
  'signaling.ratePerSec',
  'signaling.burst',
  'signaling.maxSocketsPerCredential',
  'signaling.requestCooldownSec',
  'decks.maxMb',
  'decks.maxPages',
  'decks.convertTimeoutSec',
  'health.sampleSec',
  'health.lostAfterSec',
  'health.holdSec',
]);

/** Keys set by `true` or `false` (any other value is refused by the schema, naming the key). */
const BOOLEAN_KEYS = new Set(['metrics.allowLocalhost', 'recording.statements']);

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
    out[k] = isObject(v) && isObject(base[k]) ? merge(base[k] as Json, v) : v;
  }
  return out;
}

function setPath(obj: Json, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (!isObject(cur[k])) cur[k] = {};
    cur = cur[k] as Json;
  }
  cur[keys[keys.length - 1] as string] = value;
}

function readJson(file: string): Json {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(parsed)) throw new ConfigError(`config file ${file} must hold a JSON object`);
  return parsed;
}

export interface LoadOptions {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  overrides?: Json;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  let raw = readJson(path.join(CONFIG_DIR, 'default.json'));
  const file = opts.file ?? env.HOINGHI_CONFIG;
  if (file) raw = merge(raw, readJson(path.resolve(file)));
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('HOINGHI_') || ENV_OTHER.has(name) || value === undefined) continue;
    const key = ENV_KEYS[name];
    if (!key) {
      throw new ConfigError(
        `unknown environment variable ${name} (known: ${Object.keys(ENV_KEYS).join(', ')})`,
      );
    }
    const num = Number(value);
    const word = value.trim().toLowerCase();
    const bool = word === 'true' ? true : word === 'false' ? false : undefined;
    setPath(
      raw,
      key,
      NUMERIC_KEYS.has(key) && value.trim() !== '' && Number.isFinite(num)
        ? num
        : BOOLEAN_KEYS.has(key) && bool !== undefined
          ? bool
          : value,
    );
  }
  if (opts.overrides) raw = merge(raw, opts.overrides);
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue;
    const keys =
      issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k].join('.')) : [];
    const where = keys.length ? keys.join(', ') : issue.path.join('.');
    const what = keys.length ? 'unknown key' : issue.message;
    throw new ConfigError(`config key "${where}": ${what}`);
  }
  return result.data;
}

export function effectiveWorkers(config: Config): number {
  return config.mediasoup.numWorkers || os.cpus().length || 1;
}

/** The address announced in ICE candidates when none is configured. */
export function detectAnnouncedAddress(config: Config): string {
  if (config.rtc.announcedAddress) return config.rtc.announcedAddress;
  if (config.rtc.listenIp !== '0.0.0.0') return config.rtc.listenIp;
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export function resolveDataDir(config: Config): string {
  return path.resolve(PROJECT_ROOT, config.dataDir);
}
