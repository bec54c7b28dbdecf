import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ENV_KEYS } from '../../server/src/config/config';

const ROOT = path.join(__dirname, '..', '..');

interface Service {
  build?: unknown;
  network_mode?: string;
  ports?: string[];
  environment: Record<string, string>;
  volumes: string[];
  healthcheck: { test: string[] };
  stop_signal?: string;
}

describe('docker-compose.yml', () => {
  const doc = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, Service>;
    volumes: Record<string, unknown>;
  };
  const svc = doc.services.hoinghi as Service;

  it('builds the image from the Dockerfile in the repository', () => {
    expect(svc.build).toBe('.');
    expect(fs.existsSync(path.join(ROOT, 'Dockerfile'))).toBe(true);
  });

  it('reaches the RTC port over UDP and TCP: host networking, or both published', () => {
    if (svc.network_mode === 'host') return expect(svc.ports).toBeUndefined();
    expect(svc.ports).toEqual(expect.arrayContaining(['40000:40000/udp', '40000:40000/tcp']));
  });

  it('takes the announced address from the environment and insists on it', () => {
    expect(svc.environment.HOINGHI_ANNOUNCED_ADDRESS).toMatch(/^\$\{HOINGHI_ANNOUNCED_ADDRESS:\?.+\}$/);
  });

  it('sets only environment variables the server knows', () => {
    for (const name of Object.keys(svc.environment)) expect(Object.keys(ENV_KEYS)).toContain(name);
  });

  it('keeps the data directory on a named volume', () => {
    const dataDir = svc.environment.HOINGHI_DATA_DIR;
    expect(svc.volumes).toContain(`hoinghi-data:${dataDir}`);
    expect(Object.keys(doc.volumes)).toContain('hoinghi-data');
  });

  it('checks health through /readyz and stops with SIGTERM', () => {
    expect(svc.healthcheck.test.join(' ')).toContain('/readyz');
    expect(svc.stop_signal).toBe('SIGTERM');
  });
});

describe('Dockerfile', () => {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

  it("uses the project's own setup and build, and runs the compiled server", () => {
    expect(text).toMatch(/RUN node scripts\/setup\.mjs run/);
    expect(text).toMatch(/npm run build/);
    expect(text).toMatch(/CMD \["node", "dist\/server\/src\/main\.js"\]/);
  });

  it('points mediasoup at the worker it copied and exposes the RTC port for UDP and TCP', () => {
    expect(text).toMatch(/MEDIASOUP_WORKER_BIN=\/app\/bin\/mediasoup-worker/);
    expect(text).toMatch(/COPY --from=build \/app\/mediasoup-worker \.\/bin\/mediasoup-worker/);
    expect(text).toMatch(/EXPOSE .*40000\/udp 40000\/tcp/);
  });

  it('starts FROM Node 20 on Debian 12 (bookworm), as the project is tested', () => {
    const froms = text.match(/^FROM \S+/gm) ?? [];
    expect(froms.length).toBeGreaterThan(0);
    for (const f of froms) expect(f).toBe('FROM node:20-bookworm-slim');
  });
});
