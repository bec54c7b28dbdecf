import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, effectiveWorkers, loadConfig } from '../../server/src/config/config';

describe('loadConfig()', () => {
  it('loads the defaults: the 63-site conference on port 3000, one worker per core', () => {
    const c = loadConfig({ env: {} });
    expect(c.http.port).toBe(3000);
    expect(c.rtc.port).toBe(40000);
    expect(c.conference.roster).toBe('vn-2021');
    expect(effectiveWorkers(c)).toBe(os.cpus().length);
  });

  it('applies a file, then environment variables over it', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-')), 'c.json');
    fs.writeFileSync(file, JSON.stringify({ http: { port: 8080 }, log: { level: 'debug' } }));
    const c = loadConfig({ file, env: { HOINGHI_HTTP_PORT: '9090', HOINGHI_WORKERS: '3' } });
    expect(c.http.port).toBe(9090);
    expect(c.log.level).toBe('debug');
    expect(c.mediasoup.numWorkers).toBe(3);
    expect(c.http.host).toBe('0.0.0.0');
  });

  it('accepts the shipped example config', () => {
    const c = loadConfig({ file: path.join(__dirname, '..', '..', 'config', 'example.json'), env: {} });
    expect(c.conference.roster).toBe('vn-2025');
  });

  it.each([
    [{ http: { prot: 1 } }, 'http.prot'],
    [{ colour: 'red' }, 'colour'],
    [{ http: { port: 70000 } }, 'http.port'],
    [{ rtc: { listenIp: 'localhost:1' } }, 'rtc.listenIp'],
    [{ log: { level: 'loud' } }, 'log.level'],
    [{ conference: { id: 'Has Spaces' } }, 'conference.id'],
    [{ auth: { secret: 'short' } }, 'auth.secret'],
  ])('refuses %j naming the key %s', (overrides, key) => {
    expect(() => loadConfig({ env: {}, overrides })).toThrow(ConfigError);
    expect(() => loadConfig({ env: {}, overrides })).toThrow(`"${key}"`);
  });

  it('refuses a bad environment value naming the key it sets', () => {
    expect(() => loadConfig({ env: { HOINGHI_HTTP_PORT: 'eighty' } })).toThrow('"http.port"');
  });

  it('refuses an unknown HOINGHI_ environment variable by name', () => {
    expect(() => loadConfig({ env: { HOINGHI_HTTP_PROT: '1' } })).toThrow('HOINGHI_HTTP_PROT');
  });

  it('says which file is broken when it is not JSON', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-')), 'bad.json');
    fs.writeFileSync(file, '{ http: ');
    expect(() => loadConfig({ file, env: {} })).toThrow(/bad\.json is not valid JSON/);
  });
});
