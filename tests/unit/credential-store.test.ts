/** Reissued links: generations stored in SQLite, surviving a reopen; refused as AUTH_REVOKED; private files. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadRoster } from '../../server/src/app';
import { CredentialRegistry } from '../../server/src/auth/CredentialRegistry';
import { issueCredential, verifyCredential } from '../../server/src/auth/credentials';
import { SqliteStore } from '../../server/src/store/SqliteStore';

const SECRET = 'credential-store-test-secret-0123456789';
const roster = loadRoster('vn-2021');
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-cred-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const token = (gen?: number) =>
  issueCredential(SECRET, { conf: 'c', role: 'site', site: 'ha-noi', sub: 'ha-noi', gen }, 600);

describe('credential generations', () => {
  it('a reissue refuses every older link, and the new one works, also after reopening the store', () => {
    const file = path.join(dir, 'data', 'hoinghi.sqlite');
    let store = new SqliteStore(file);
    let reg = new CredentialRegistry(store);
    const revoked: string[] = [];
    reg.onRevoked((p, g) => revoked.push(`${p}@${g}`));
    const v0 = () => verifyCredential(SECRET, 'c', roster, token(), Date.now(), reg.generation);
    expect(v0()).toMatchObject({ ok: true, generation: 0 });
    expect(reg.reissue('ha-noi', Date.now())).toBe(1);
    expect(revoked).toEqual(['ha-noi@1']);
    expect(v0()).toEqual({ ok: false, code: 'AUTH_REVOKED' });
    expect(verifyCredential(SECRET, 'c', roster, token(1), Date.now(), reg.generation)).toMatchObject({
      ok: true,
      generation: 1,
    });
    store.close();

    store = new SqliteStore(file);
    reg = new CredentialRegistry(store);
    expect(reg.generation('ha-noi')).toBe(1);
    expect(reg.generation('da-nang')).toBe(0);
    expect(v0()).toEqual({ ok: false, code: 'AUTH_REVOKED' });
    store.close();
  });

  it('refresh() sees a reissue made by another process on the same file', () => {
    const file = path.join(dir, 'hoinghi.sqlite');
    const server = new SqliteStore(file);
    const cli = new SqliteStore(file);
    const reg = new CredentialRegistry(server);
    const revoked: string[] = [];
    reg.onRevoked((p) => revoked.push(p));
    new CredentialRegistry(cli).reissue('da-nang', Date.now());
    expect(reg.generation('da-nang')).toBe(0);
    reg.refresh();
    expect(reg.generation('da-nang')).toBe(1);
    expect(revoked).toEqual(['da-nang']);
    reg.refresh();
    expect(revoked).toEqual(['da-nang']); // told once
    cli.close();
    server.close();
  });

  it('a negative or fractional generation claim is not valid', () => {
    for (const gen of [-1, 1.5]) {
      const t = issueCredential(SECRET, { conf: 'c', role: 'site', site: 'ha-noi', sub: 'ha-noi', gen }, 600);
      expect(verifyCredential(SECRET, 'c', roster, t)).toEqual({ ok: false, code: 'AUTH_INVALID_TOKEN' });
    }
  });

  it('keeps its files private: directory 0700, database 0600, and counts minutes with SQL', () => {
    const file = path.join(dir, 'private', 'hoinghi.sqlite');
    const store = new SqliteStore(file);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(store.minutesCount('none')).toBe(0);
    store.close();
  });
});
