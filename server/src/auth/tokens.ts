/**
 * Per-site join tokens: an HMAC of (conference, site, role) under the server secret.
 * A token names who it is for, so the server derives identity from it, never from
 * what the client claims. (Signed, expiring credentials with more roles come with the
 * conference core; this format is deliberately small.)
 *
 * token = <role>.<siteCode>.<base64url(HMAC-SHA256(secret, conferenceId|role|siteCode))[0..32]>
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Role } from '../../../protocol/events';

export interface Credential {
  role: Role;
  siteCode: string;
}

const TOKEN_RE = /^(chair|site)\.([a-z0-9-]{1,48})\.([A-Za-z0-9_-]{32})$/;

function mac(secret: string, conferenceId: string, role: Role, siteCode: string): string {
  return createHmac('sha256', secret)
    .update(`${conferenceId}|${role}|${siteCode}`)
    .digest('base64url')
    .slice(0, 32);
}

export function issueToken(secret: string, conferenceId: string, cred: Credential): string {
  return `${cred.role}.${cred.siteCode}.${mac(secret, conferenceId, cred.role, cred.siteCode)}`;
}

/** The credential a token carries, or null when it is malformed or its signature does not match. */
export function verifyToken(secret: string, conferenceId: string, token: unknown): Credential | null {
  if (typeof token !== 'string' || token.length > 200) return null;
  const m = TOKEN_RE.exec(token);
  if (!m) return null;
  const role = m[1] as Role;
  const siteCode = m[2] as string;
  const expected = Buffer.from(mac(secret, conferenceId, role, siteCode));
  const given = Buffer.from(m[3] as string);
  return expected.length === given.length && timingSafeEqual(expected, given) ? { role, siteCode } : null;
}

/** The configured secret, or one generated once and kept in the data directory. */
export function loadSecret(configured: string, dataDir: string): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'secret');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  }
}
