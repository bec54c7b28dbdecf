import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { issueToken, loadSecret, verifyToken } from '../../server/src/auth/tokens';

const SECRET = 'unit-secret-0123456789-abcdefghijklmnopq';

describe('join tokens', () => {
  const token = issueToken(SECRET, 'conf-a', { role: 'site', siteCode: 'ha-noi' });

  it('verify what they were issued for', () => {
    expect(verifyToken(SECRET, 'conf-a', token)).toEqual({ role: 'site', siteCode: 'ha-noi' });
  });

  it('are refused for another conference, another secret, or a tampered part', () => {
    expect(verifyToken(SECRET, 'conf-b', token)).toBeNull();
    expect(verifyToken(`${SECRET}x`, 'conf-a', token)).toBeNull();
    expect(verifyToken(SECRET, 'conf-a', token.replace('site.', 'chair.'))).toBeNull();
    expect(verifyToken(SECRET, 'conf-a', token.replace('ha-noi', 'hai-phong'))).toBeNull();
    const sig = token.slice(-1) === 'A' ? 'B' : 'A';
    expect(verifyToken(SECRET, 'conf-a', token.slice(0, -1) + sig)).toBeNull();
  });

  it.each([undefined, null, 42, {}, '', 'x'.repeat(1000), 'site..abc'])(
    'refuse malformed input %p',
    (bad) => {
      expect(verifyToken(SECRET, 'conf-a', bad)).toBeNull();
    },
  );

  it('the generated secret is created once and kept', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secret-'));
    const a = loadSecret('', dir);
    expect(a.length).toBeGreaterThanOrEqual(32);
    expect(loadSecret('', dir)).toBe(a);
    expect(fs.statSync(path.join(dir, 'secret')).mode & 0o077).toBe(0);
    expect(loadSecret(SECRET, dir)).toBe(SECRET);
  });
});
