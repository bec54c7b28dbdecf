/**
 * Signed credentials: JWT (HS256, jsonwebtoken) carrying the conference, the role, the site
 * and the person, with an expiry. Identity and rights are derived from a verified credential
 * on every command, never from what the client says.
 *
 *   { conf, role, site, sub, gen?, iat, exp }
 *   - gen: the credential's generation (absent = 0). Reissuing a principal's link raises the
 *     stored generation; a link of a lower generation is then refused as AUTH_REVOKED.
 *   - site role: sub = site = a provincial site code
 *   - chair, cochair, operator, wall: site = the central bridge, sub = the person ("chair", "operator-1" …)
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import type { Role } from '../../../protocol/events';
import { type Actor, ROLES } from '../core/model';
import type { Roster } from '../core/roster';

export interface CredentialClaims {
  conf: string;
  role: Role;
  site: string;
  sub: string;
  /** Generation of the link (0 when never reissued). */
  gen?: number;
}

export type Verified =
  | { ok: true; actor: Actor; expiresAt: number; generation: number }
  | { ok: false; code: 'AUTH_REQUIRED' | 'AUTH_INVALID_TOKEN' | 'AUTH_EXPIRED' | 'AUTH_REVOKED' };

/** The current generation of each principal's link (absent: 0). */
export type Generations = (principal: string) => number;

const MAX_TOKEN_LENGTH = 2048;

export function issueCredential(
  secret: string,
  claims: CredentialClaims,
  ttlSec: number,
  now = Date.now(),
): string {
  const iat = Math.floor(now / 1000);
  const gen = claims.gen ? { gen: claims.gen } : {};
  return jwt.sign(
    { conf: claims.conf, role: claims.role, site: claims.site, ...gen, iat, exp: iat + ttlSec },
    secret,
    {
      algorithm: 'HS256',
      subject: claims.sub,
    },
  );
}

/** Verifies signature, expiry, conference, role and site against the roster, and the generation. */
export function verifyCredential(
  secret: string,
  conferenceId: string,
  roster: Roster,
  token: unknown,
  now = Date.now(),
  generations: Generations = () => 0,
): Verified {
  if (token === undefined || token === null || token === '') return { ok: false, code: 'AUTH_REQUIRED' };
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH)
    return { ok: false, code: 'AUTH_INVALID_TOKEN' };
  let payload: jwt.JwtPayload;
  try {
    const decoded = jwt.verify(token, secret, {
      algorithms: ['HS256'],
      clockTimestamp: Math.floor(now / 1000),
    });
    if (typeof decoded === 'string') return { ok: false, code: 'AUTH_INVALID_TOKEN' };
    payload = decoded;
  } catch (e) {
    return { ok: false, code: e instanceof jwt.TokenExpiredError ? 'AUTH_EXPIRED' : 'AUTH_INVALID_TOKEN' };
  }
  const { conf, role, site, sub, exp, gen = 0 } = payload as Partial<CredentialClaims> & { exp?: number };
  if (conf !== conferenceId || typeof exp !== 'number' || typeof sub !== 'string' || !sub) {
    return { ok: false, code: 'AUTH_INVALID_TOKEN' };
  }
  if (!ROLES.includes(role as Role) || typeof site !== 'string')
    return { ok: false, code: 'AUTH_INVALID_TOKEN' };
  const known = roster.sites.find((s) => s.code === site);
  const central = site === roster.central.code;
  const fits = role === 'site' ? Boolean(known) && !central && sub === site : central;
  if (!fits) return { ok: false, code: 'AUTH_INVALID_TOKEN' };
  if (!Number.isSafeInteger(gen) || gen < 0) return { ok: false, code: 'AUTH_INVALID_TOKEN' };
  if (gen < generations(sub)) return { ok: false, code: 'AUTH_REVOKED' };
  return {
    ok: true,
    actor: { role: role as Role, principal: sub, siteCode: site },
    expiresAt: exp * 1000,
    generation: gen,
  };
}

/** The configured secret, or one generated once and kept in the data directory. */
export function loadSecret(configured: string, dataDir: string): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'secret');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const secret = randomBytes(32).toString('base64url');
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  }
}

/** The people of the central bridge who get links, besides the 63 sites. */
export const CENTRAL_PEOPLE: readonly { role: Role; sub: string }[] = [
  { role: 'chair', sub: 'chair' },
  { role: 'cochair', sub: 'cochair' },
  { role: 'operator', sub: 'operator' },
  { role: 'wall', sub: 'wall' },
];
