/**
 * Decks over HTTP. Anyone joined may upload a PDF ahead of time; the server answers at once
 * and converts it in a separate process (./convert.ts), one deck at a time so a conversion never
 * takes more than one core from the media; the uploader follows the progress; a converted deck
 * joins the conference state (and so every console's list) through the core's `deck:added`.
 *
 *   POST /api/decks?title=…   Authorization: Bearer …   Content-Type: application/pdf   (the PDF)
 *     → 202 { id }  |  401, 413 (decks.maxMb), 415, 429 { error: { code, message } }
 *   GET  /api/decks/:id       → { status: 'converting', done, total } | { status: 'ready', pages }
 *                               | { status: 'failed', code, message }
 *   GET  /decks/:id/:n.png    → the page image, cached for good (immutable: a deck never changes)
 *
 * Page images carry no credential: `<img>` cannot send one, and caches must be able to keep
 * them. The deck id, 128 random bits, is their key; it reaches only joined consoles.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { Verified } from '../auth/credentials';
import type { DeckInfo } from '../core/model';
import { bearerToken } from '../http/httpApp';
import { createLogger } from '../logger';
import { type ConvertLimits, DeckError, type DeckErrorCode, convertPdf } from './convert';

const log = createLogger('decks');
const ID = /^[0-9a-f]{32}$/;
/** Uploads waiting or converting at once, and per person: more is refused (429), not queued. */
const MAX_JOBS = 20;
const MAX_JOBS_EACH = 3;
/** How long a finished job's answer is kept for the uploader to read. */
const KEEP_DONE_MS = 10 * 60_000;

export interface DecksDeps {
  /** dataDir/decks: one directory of page images per deck, and the uploads being converted. */
  dir: string;
  limits: ConvertLimits;
  verify: (token: unknown) => Verified;
  /** A deck is converted: it joins the conference (the core's `deck:added`). */
  added: (deck: DeckInfo) => void;
  now: () => number;
}

type Job =
  | { status: 'converting'; done: number; total: number; owner: string }
  | { status: 'ready'; pages: number; owner: string; at: number }
  | { status: 'failed'; code: DeckErrorCode; message: string; owner: string; at: number };

const error = (res: express.Response, status: number, code: string, message: string) =>
  res.status(status).set('Cache-Control', 'no-store').json({ error: { code, message } });

export function decksApi(deps: DecksDeps): { api: express.Router; pages: express.Router } {
  const uploads = path.join(deps.dir, '.uploads');
  fs.mkdirSync(uploads, { recursive: true });
  // Uploads a previous run left half-converted: their conversion died with it.
  for (const f of fs.readdirSync(uploads)) fs.rmSync(path.join(uploads, f), { force: true });
  for (const f of fs.readdirSync(deps.dir))
    if (f.startsWith('.') && f !== '.uploads')
      fs.rmSync(path.join(deps.dir, f), { recursive: true, force: true });

  const jobs = new Map<string, Job>();
  let queue: Promise<void> = Promise.resolve();
  const forgetOld = () => {
    const now = deps.now();
    for (const [id, j] of jobs) if (j.status !== 'converting' && now - j.at > KEEP_DONE_MS) jobs.delete(id);
  };

  async function convert(id: string, file: string, title: string, owner: string): Promise<void> {
    try {
      const r = await convertPdf(file, path.join(deps.dir, id), deps.limits, (done, total) =>
        jobs.set(id, { status: 'converting', done, total, owner }),
      );
      deps.added({ id, title, pages: r.pages, uploadedBy: owner, uploadedAt: deps.now() });
      jobs.set(id, { status: 'ready', pages: r.pages, owner, at: deps.now() });
      log.info('deck converted', { id, pages: r.pages, by: owner });
    } catch (e) {
      const err = e instanceof DeckError ? e : new DeckError('FAILED', String(e));
      // A deck the core refused (too many decks) has pages on disk that nobody can show.
      if (!(e instanceof DeckError)) fs.rmSync(path.join(deps.dir, id), { recursive: true, force: true });
      jobs.set(id, { status: 'failed', code: err.code, message: err.message, owner, at: deps.now() });
      log.warn('deck refused', { id, code: err.code, message: err.message, by: owner });
    } finally {
      fs.rmSync(file, { force: true });
    }
  }

  const api = express.Router();
  api.post('/', (req, res) => {
    const v = deps.verify(bearerToken(req));
    if (!v.ok) return void error(res, 401, v.code, 'a valid credential is required');
    const type = (req.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/pdf')
      return void error(res, 415, 'NOT_PDF', 'send the deck as application/pdf');
    const rawTitle = typeof req.query.title === 'string' ? req.query.title : '';
    const title = [...rawTitle.trim()]
      .filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f)
      .join('')
      .slice(0, 200);
    forgetOld();
    const mine = [...jobs.values()].filter((j) => j.status === 'converting' && j.owner === v.actor.principal);
    const all = [...jobs.values()].filter((j) => j.status === 'converting');
    if (mine.length >= MAX_JOBS_EACH || all.length >= MAX_JOBS)
      return void error(res, 429, 'RATE_LIMITED', 'too many decks are converting: try again shortly');
    const declared = Number(req.get('content-length') ?? NaN);
    if (declared > deps.limits.maxBytes)
      return void error(res, 413, 'TOO_LARGE', `the deck is larger than ${deps.limits.maxBytes} bytes`);

    const id = randomBytes(16).toString('hex');
    const owner = v.actor.principal;
    // The slot is taken now, while the body is still coming: parallel uploads (another socket,
    // another tab) count against the limits from their first byte, not once they are on disk.
    jobs.set(id, { status: 'converting', done: 0, total: 0, owner });
    const file = path.join(uploads, `${id}.pdf`);
    const out = fs.createWriteStream(file, { flags: 'wx' });
    let bytes = 0;
    let refused = false;
    const refuse = (status: number, code: string, message: string) => {
      if (refused) return;
      refused = true;
      jobs.delete(id);
      req.unpipe(out);
      out.destroy();
      fs.rmSync(file, { force: true });
      error(res, status, code, message);
      // The rest of an oversized body is not read: the connection goes.
      res.on('finish', () => req.destroy());
    };
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > deps.limits.maxBytes)
        refuse(413, 'TOO_LARGE', `the deck is larger than ${deps.limits.maxBytes} bytes`);
    });
    req.on('error', () => refuse(400, 'BAD_REQUEST', 'the upload was cut off'));
    out.on('error', () => refuse(500, 'INTERNAL', 'the upload could not be stored'));
    out.on('finish', () => {
      if (refused) return;
      queue = queue.then(() => convert(id, file, title || 'Tài liệu', owner));
      res.status(202).set('Cache-Control', 'no-store').json({ id });
    });
    req.pipe(out);
  });

  api.get('/:id', (req, res) => {
    const v = deps.verify(bearerToken(req));
    if (!v.ok) return void error(res, 401, v.code, 'a valid credential is required');
    const job = jobs.get(String(req.params.id));
    if (!job) return void error(res, 404, 'NOT_FOUND', 'no such upload');
    const { owner: _owner, ...rest } = job;
    const { at: _at, ...answer } = rest as typeof rest & { at?: number };
    res.set('Cache-Control', 'no-store').json(answer);
  });

  const pages = express.Router();
  pages.get('/:id/:page.png', (req, res) => {
    const id = String(req.params.id);
    const page = Number(req.params.page);
    if (!ID.test(id) || !Number.isInteger(page) || page < 1 || page > 10_000)
      return void res.status(404).end();
    res.sendFile(
      path.join(deps.dir, id, `${page}.png`),
      {
        headers: { 'Cache-Control': 'public, max-age=31536000, immutable' },
        dotfiles: 'deny',
      },
      (err) => {
        if (err && !res.headersSent) res.status(404).end();
      },
    );
  });
  return { api, pages };
}
