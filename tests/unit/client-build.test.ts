/** scripts/build-client.mjs: source maps in development only, none in a production build; no zod. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

function buildClient(nodeEnv: string | undefined): { dir: string; files: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-client-'));
  const env: NodeJS.ProcessEnv = { ...process.env, HOINGHI_CLIENT_OUT: dir };
  if (nodeEnv === undefined) delete env.NODE_ENV;
  else env.NODE_ENV = nodeEnv;
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-client.mjs')], { env, stdio: 'pipe' });
  return { dir, files: fs.readdirSync(dir).sort() };
}

describe('client build', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('with NODE_ENV=production: the consoles and no source map, nor a link to one', () => {
    const { dir, files } = buildClient('production');
    dirs.push(dir);
    for (const f of ['site', 'chair', 'operator', 'wall', 'index']) {
      expect(files).toContain(`${f}.js`);
      expect(files).toContain(`${f}.html`);
      expect(fs.readFileSync(path.join(dir, `${f}.js`), 'utf8')).not.toContain('sourceMappingURL');
    }
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  });

  it('in development: each bundle links its map', () => {
    const { dir, files } = buildClient(undefined);
    dirs.push(dir);
    expect(files).toContain('site.js.map');
    expect(fs.readFileSync(path.join(dir, 'site.js'), 'utf8')).toContain('sourceMappingURL=site.js.map');
    // protocol/events.ts takes its payload types from the zod schemas as types only: neither
    // zod nor the schemas may end up in a browser bundle (the maps list what each one holds).
    for (const map of files.filter((f) => f.endsWith('.js.map'))) {
      const { sources } = JSON.parse(fs.readFileSync(path.join(dir, map), 'utf8')) as { sources: string[] };
      expect(sources.filter((s) => /node_modules\/zod\/|protocol\/schemas\.ts$/.test(s))).toEqual([]);
    }
  });

  it('a production build into a directory a development build used removes the old maps', () => {
    const { dir } = buildClient(undefined);
    dirs.push(dir);
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-client.mjs')], {
      env: { ...process.env, HOINGHI_CLIENT_OUT: dir, NODE_ENV: 'production' },
      stdio: 'pipe',
    });
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.map'))).toEqual([]);
  });
});
