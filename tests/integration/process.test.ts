/**
 * The compiled server as an operator runs it (node dist/server/src/main.js): start-up
 * message, configuration errors, graceful SIGTERM; and the join-link CLI.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LINKS, MAIN, PROCESS_SECRET, serverEnv } from '../helpers/serverProcess';
import { waitFor } from '../helpers/waitFor';
import { connect, ok } from '../helpers/wsClient';
import { issueCredential, verifyCredential } from '../../server/src/auth/credentials';
import { loadRoster } from '../../server/src/app';

const SECRET = PROCESS_SECRET;

let dataDir: string;
const children: ChildProcess[] = [];

const env = (extra: Record<string, string> = {}) => serverEnv(dataDir, extra);

function start(extra: Record<string, string> = {}) {
  const child = spawn(process.execPath, [MAIN], { env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out, exited };
}

beforeAll(() => {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} missing: run "npm run build" (npm test does it)`);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-proc-'));
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the server process', () => {
  it('prints its address; the site page loads there; SIGTERM closes sessions and exits 0', async () => {
    const { child, out, exited } = start();
    const url = await waitFor('the printed address', () => /open: (http:\/\/\S+)/.exec(out.stdout)?.[1], {
      timeoutMs: 20_000,
      missing: () => out,
    });
    expect(out.stdout).toContain('(64 sites)');
    const page = await fetch(`${url}/site`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script src="/site.js">');
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    const token = issueCredential(
      SECRET,
      { conf: 'hoi-nghi-toan-quoc', role: 'site', site: 'ha-noi', sub: 'ha-noi' },
      600,
    );
    const socket = await connect(url, token);
    await ok(socket, 'session:join', {});
    const told = new Promise((resolve) => socket.on('session:closed', resolve));
    process.kill(child.pid as number, 'SIGTERM');
    await expect(told).resolves.toEqual({ reason: 'server-shutdown' });
    await expect(exited).resolves.toBe(0);
    expect(out.stderr).toContain('server stopped');
    socket.close();
  });

  it('stops at start with a message naming a bad configuration key', async () => {
    const { out, exited } = start({ HOINGHI_HTTP_PORT: 'eighty' });
    await expect(exited).resolves.toBe(1);
    expect(out.stderr).toMatch(/configuration error: config key "http\.port"/);
    expect(out.stderr).not.toMatch(/^\s+at /m);
  });

  it('stops at start naming an unknown key in a config file', async () => {
    const file = path.join(dataDir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ rtc: { portt: 1 } }));
    const { out, exited } = start({ HOINGHI_CONFIG: file });
    await expect(exited).resolves.toBe(1);
    expect(out.stderr).toContain('"rtc.portt": unknown key');
  });
});

describe('npm run links', () => {
  it('prints the chair, co-chair, operator and wall links and one per provincial site, each a valid credential', () => {
    const r = spawnSync(process.execPath, [LINKS, '--json'], { env: env(), encoding: 'utf8' });
    expect(r.status).toBe(0);
    const links = JSON.parse(r.stdout) as {
      role: string;
      person: string | null;
      site: { code: string };
      url: string;
    }[];
    expect(links).toHaveLength(67);
    expect(links.slice(0, 4).map((l) => l.role)).toEqual(['chair', 'cochair', 'operator', 'wall']);
    expect(links.filter((l) => l.role === 'site')).toHaveLength(63);
    const roster = loadRoster('vn-2021');
    for (const l of links) {
      const token = new URL(l.url).hash.replace('#t=', '');
      const v = verifyCredential(SECRET, 'hoi-nghi-toan-quoc', roster, token);
      expect(v).toMatchObject({
        ok: true,
        actor: { role: l.role, siteCode: l.site.code, principal: l.person ?? l.site.code },
      });
    }
  });

  it('prints a readable table with Vietnamese names', () => {
    const r = spawnSync(process.execPath, [LINKS], {
      env: env({ HOINGHI_PUBLIC_URL: 'https://hn.example.vn' }),
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Thừa Thiên Huế\s+https:\/\/hn\.example\.vn\/site#t=[\w-]+\.[\w-]+\.[\w-]+$/m);
  });
});
