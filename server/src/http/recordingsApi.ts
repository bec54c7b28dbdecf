/**
 * Recordings for the chair, co-chair and operators: the list, and a short-lived download address
 * for one file (the browser downloads it by navigating there; no credential travels in a URL
 * that lasts: the address is signed for that file and expires in minutes).
 *
 *   GET  /api/recordings              Authorization: Bearer …   → 200 { files: RecordingFile[] }
 *   POST /api/recordings/:id/link     Authorization: Bearer …   → 200 { url, expiresAt } | 404 | 409
 *   GET  /recordings/:id.mkv?exp=…&sig=…                        → the file (attachment) | 403 | 404
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import express from 'express';
import type { Verified } from '../auth/credentials';
import { MINUTES_READERS } from '../core/model';
import { RECORDING_ID, type Recordings } from '../recording/Recordings';
import { bearerToken } from './httpApp';

/** How long a download address works. */
const LINK_TTL_MS = 10 * 60 * 1000;

export interface RecordingsApiDeps {
  verify: (token: unknown) => Verified;
  recordings: Recordings;
  secret: string;
  now?: () => number;
}

const error = (res: express.Response, status: number, code: string, message: string) =>
  res.status(status).json({ error: { code, message } });

const sign = (secret: string, id: string, exp: number) =>
  createHmac('sha256', secret).update(`recording:${id}:${exp}`).digest('base64url');

export function recordingsApi(deps: RecordingsApiDeps): { api: express.Router; files: express.Router } {
  const now = deps.now ?? Date.now;
  const api = express.Router();
  const reader: express.RequestHandler = (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    const v = deps.verify(bearerToken(req));
    if (!v.ok) return void error(res, 401, v.code, 'a valid chair or operator credential is required');
    if (!MINUTES_READERS.includes(v.actor.role))
      return void error(res, 403, 'FORBIDDEN', 'only the chair and operators may read the recordings');
    next();
  };
  api.get('/', reader, (_req, res) => {
    res.json({ files: deps.recordings.list() });
  });
  api.post('/:id/link', reader, (req, res) => {
    const id = String(req.params.id);
    const f = RECORDING_ID.test(id) ? deps.recordings.get(id) : undefined;
    if (!f) return void error(res, 404, 'NOT_FOUND', 'no such recording');
    if (f.endedAt === null)
      return void error(res, 409, 'WRONG_STATE', 'the recording is still being written');
    if (!fs.existsSync(deps.recordings.file(id)))
      return void error(res, 404, 'NOT_FOUND', 'the file of this recording is gone');
    const exp = now() + LINK_TTL_MS;
    res.json({ url: `/recordings/${id}.mkv?exp=${exp}&sig=${sign(deps.secret, id, exp)}`, expiresAt: exp });
  });

  const files = express.Router();
  files.get('/:name', (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const m = /^(.+)\.mkv$/.exec(String(req.params.name));
    const id = m?.[1] ?? '';
    const exp = Number(req.query.exp);
    const sig = typeof req.query.sig === 'string' ? req.query.sig : '';
    const want = RECORDING_ID.test(id) && Number.isSafeInteger(exp) ? sign(deps.secret, id, exp) : '';
    const good =
      want !== '' &&
      sig.length === want.length &&
      timingSafeEqual(Buffer.from(sig), Buffer.from(want)) &&
      exp > now();
    if (!good) return void error(res, 403, 'FORBIDDEN', 'this download address is not valid or has expired');
    const file = deps.recordings.file(id);
    if (!fs.existsSync(file)) return void error(res, 404, 'NOT_FOUND', 'no such recording');
    res.download(file, `${id}.mkv`, { headers: { 'Content-Type': 'video/x-matroska' } });
  });
  return { api, files };
}
