/**
 * Who an RTP request (ingest, RTP out) speaks for: a hall's credential speaks for its own hall
 * only; the chair's, the co-chair's and an operator's name the hall (`site`); nobody else may.
 * Answers the refusal itself (401, 400, 403, 404 with `{ error: { code, message } }`).
 */
import express from 'express';
import type { SiteInfo } from '../../../protocol/events';
import type { Verified } from '../auth/credentials';
import { bearerToken } from './httpApp';

export interface HallAuthDeps {
  verify: (token: unknown) => Verified;
  sites: SiteInfo[];
}

export const sendError = (res: express.Response, status: number, code: string, message: string) =>
  res.status(status).json({ error: { code, message } });

/** The hall a request speaks for, or null with the refusal sent. `what` names the thing in the 403. */
export function hallOf(
  deps: HallAuthDeps,
  req: express.Request,
  res: express.Response,
  named: unknown,
  what: string,
): SiteInfo | null {
  res.setHeader('Cache-Control', 'no-store');
  const v = deps.verify(bearerToken(req));
  if (!v.ok) return (sendError(res, 401, v.code, "the hall's or an operator's credential is required"), null);
  const { role, siteCode } = v.actor;
  let code: string;
  if (role === 'site') {
    if (named !== undefined && named !== siteCode)
      return (sendError(res, 403, 'FORBIDDEN', `a hall's credential speaks only for its own ${what}`), null);
    code = siteCode;
  } else if (role === 'chair' || role === 'cochair' || role === 'operator') {
    if (typeof named !== 'string' || !named)
      return (sendError(res, 400, 'BAD_REQUEST', 'name the site: site=<code>'), null);
    code = named;
  } else {
    return (sendError(res, 403, 'FORBIDDEN', 'only a hall, the chair or an operator may do this'), null);
  }
  const site = deps.sites.find((s) => s.code === code && s.kind !== 'central');
  if (!site)
    return (sendError(res, 404, 'NOT_FOUND', `no provincial site "${String(code).slice(0, 48)}"`), null);
  return site;
}

/** The small JSON bodies of the RTP requests: at most 4 KiB, objects and arrays only. */
export const jsonBody = express.json({ limit: '4kb', strict: true });

/** A body that is not JSON, or too large: a clear 400/413, not express's HTML page. */
export const bodyErrors: express.ErrorRequestHandler = (err: unknown, _req, res, next) => {
  if (!err) return next();
  const status = (err as { status?: number }).status ?? 400;
  sendError(
    res,
    status === 413 ? 413 : 400,
    'BAD_REQUEST',
    status === 413 ? 'the body is too large' : 'the body is not valid JSON',
  );
};
