/**
 * Reissuing a link: the operator (or the chair) replaces one hall's or one person's link. The old
 * link stops working at once, its open sessions are closed, and the new link is returned.
 *
 *   POST /api/credentials/:principal/reissue   Authorization: Bearer <chair or operator credential>
 *   → 200 { link }  |  401, 403, 404, 409 { error: { code, message } }
 *
 * The chair reissues anyone's but its own; the operator anyone's but its own and the chair's.
 */
import express from 'express';
import type { JoinLink } from '../app';
import type { Verified } from '../auth/credentials';
import type { Role } from '../core/model';
import { createLogger } from '../logger';
import { bearerToken } from './httpApp';

const log = createLogger('credentials');
const REISSUERS: readonly Role[] = ['chair', 'operator'];

export interface CredentialsApiDeps {
  verify: (token: unknown) => Verified;
  /** Every principal that has a link. */
  principals: ReadonlySet<string>;
  reissue: (principal: string) => JoinLink;
}

const error = (res: express.Response, status: number, code: string, message: string) =>
  res.status(status).json({ error: { code, message } });

export function credentialsApi(deps: CredentialsApiDeps): express.Router {
  const router = express.Router();
  router.post('/:principal/reissue', (req, res) => {
    const v = deps.verify(bearerToken(req));
    if (!v.ok) return void error(res, 401, v.code, 'a valid chair or operator credential is required');
    if (!REISSUERS.includes(v.actor.role))
      return void error(res, 403, 'FORBIDDEN', 'only the chair and the operator may reissue links');
    const principal = String(req.params.principal);
    if (!deps.principals.has(principal))
      return void error(res, 404, 'NOT_FOUND', 'no link is issued for that name');
    if (principal === v.actor.principal)
      return void error(res, 409, 'WRONG_STATE', 'you cannot reissue your own link from your own session');
    // A leaked operator link must not be able to lock the chair out: the chair's link is
    // reissued on the server (npm run links -- --reissue chair), not by the operator.
    if (principal === 'chair')
      return void error(
        res,
        403,
        'FORBIDDEN',
        "the chair's link is reissued on the server: npm run links -- --reissue chair",
      );
    const link = deps.reissue(principal);
    log.info('link reissued', { principal, by: v.actor.principal });
    res.set('Cache-Control', 'no-store').json({ link });
  });
  return router;
}
