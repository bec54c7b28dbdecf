import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ENV_KEYS } from '../../server/src/config/config';
import { RECOMMENDED_RMEM } from '../../server/src/media/udpHealth';

const ROOT = path.join(__dirname, '..', '..');

interface Service {
  build?: unknown;
  restart?: string;
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

  it('serves HTTP on loopback by default, for the TLS proxy on the same host', () => {
    expect(svc.environment.HOINGHI_HTTP_HOST).toBe('${HOINGHI_HTTP_HOST:-127.0.0.1}');
  });

  it('keeps the data directory on a named volume', () => {
    const dataDir = svc.environment.HOINGHI_DATA_DIR;
    expect(svc.volumes).toContain(`hoinghi-data:${dataDir}`);
    expect(Object.keys(doc.volumes)).toContain('hoinghi-data');
  });

  it('restarts the container by itself unless it was stopped', () => {
    expect(svc.restart).toBe('unless-stopped');
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

  it('builds the client for production (no source maps)', () => {
    expect(text).toMatch(/RUN NODE_ENV=production npm run build/);
  });

  it('runs the server as a user other than root, owning a private /data', () => {
    const stages = text.split(/^FROM /m);
    const final = stages[stages.length - 1] as string;
    const users = final.match(/^USER\s+(\S+)/gm) ?? [];
    expect(users.length).toBeGreaterThan(0);
    const last = (users[users.length - 1] as string).split(/\s+/)[1] as string;
    expect(last.split(':')[0]).not.toMatch(/^(root|0)$/);
    // USER comes before CMD, and /data belongs to that user with mode 0700.
    expect(final.lastIndexOf('USER ')).toBeLessThan(final.indexOf('CMD '));
    expect(final).toMatch(new RegExp(`chown ${last}(:\\S+)? /data`));
    expect(final).toMatch(/chmod 0?700 \/data/);
  });

  it('starts FROM Node 20 on Debian 12 (bookworm), as the project is tested', () => {
    const froms = text.match(/^FROM \S+/gm) ?? [];
    expect(froms.length).toBeGreaterThan(0);
    for (const f of froms) expect(f).toBe('FROM node:20-bookworm-slim');
  });
});

/** A systemd unit file: sections of key=value lines; a key may repeat (Environment=). */
type Unit = Record<string, Record<string, string[]>>;

function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section: Record<string, string[]> | undefined;
  // Continuation lines end with a backslash.
  for (const raw of text.replace(/\\\n/g, ' ').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = unit[header[1] as string] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (!section || eq < 1) throw new Error(`not a unit file line: ${line}`);
    const key = line.slice(0, eq).trim();
    (section[key] ??= []).push(line.slice(eq + 1).trim());
  }
  return unit;
}

describe('deploy/hoinghi.service', () => {
  const unit = parseUnit(fs.readFileSync(path.join(ROOT, 'deploy', 'hoinghi.service'), 'utf8'));
  const service = unit.Service as Record<string, string[]>;
  /** The last value of a key, as systemd reads it. */
  const one = (key: string) => service[key]?.at(-1);
  /** Environment= lines: each holds one or more NAME=value assignments. */
  const env = Object.fromEntries(
    (service.Environment ?? []).flatMap((line) =>
      line.split(/\s+/).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]),
    ),
  );

  it('parses into [Unit], [Service] and [Install]', () => {
    expect(Object.keys(unit)).toEqual(['Unit', 'Service', 'Install']);
    expect(unit.Install?.WantedBy).toEqual(['multi-user.target']);
  });

  it('is restarted whenever it stops, without giving up on a single crash', () => {
    expect(one('Type')).toBe('simple');
    expect(one('Restart')).toBe('always');
    expect(Number(one('RestartSec'))).toBeGreaterThan(0);
    expect(Number(unit.Unit?.StartLimitBurst?.at(-1))).toBeGreaterThanOrEqual(5);
  });

  it('runs as an unprivileged user, with private state and files', () => {
    expect(one('User')).toMatch(/^[a-z][a-z0-9-]*$/);
    expect(one('User')).not.toMatch(/^(root|0)$/);
    expect(one('StateDirectory')).toBe('hoinghi');
    expect(one('StateDirectoryMode')).toBe('0700');
    expect(one('UMask')).toBe('0077');
    expect(env.HOINGHI_DATA_DIR).toBe(`/var/lib/${one('StateDirectory')}`);
    expect(service.ReadWritePaths).toContain(env.HOINGHI_DATA_DIR);
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('ProtectHome')).toBe('yes');
    expect(one('PrivateTmp')).toBe('yes');
  });

  it("raises the media sockets' receive buffer before each start, from a file in the repository", () => {
    const pre = one('ExecStartPre') as string;
    const m = /^-\+\/usr\/sbin\/sysctl -q -p \/opt\/hoinghi\/(deploy\/[\w.-]+\.conf)$/.exec(pre);
    expect(m).not.toBeNull();
    const conf = fs.readFileSync(path.join(ROOT, (m as RegExpExecArray)[1] as string), 'utf8');
    const settings = Object.fromEntries(
      conf
        .split('\n')
        .filter((l) => l.trim() && !l.trim().startsWith('#'))
        .map((l) => l.split('=').map((x) => x.trim()) as [string, string]),
    );
    expect(Number(settings['net.core.rmem_default'])).toBeGreaterThanOrEqual(RECOMMENDED_RMEM);
    expect(Number(settings['net.core.rmem_max'])).toBeGreaterThanOrEqual(RECOMMENDED_RMEM);
  });

  it('stops gracefully with SIGTERM, as the server expects', () => {
    expect(one('KillSignal')).toBe('SIGTERM');
    expect(Number(one('TimeoutStopSec'))).toBeGreaterThanOrEqual(10);
  });

  it('starts the compiled server where `npm run build` puts it', () => {
    const [node, script] = (one('ExecStart') as string).split(/\s+/);
    expect(node).toBe('/usr/bin/node');
    expect(script).toBe('dist/server/src/main.js');
    // tsconfig.build.json compiles server/src/main.ts from the root into dist/, keeping the path.
    const build = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
      compilerOptions: { rootDir: string; outDir: string };
    };
    const source = path
      .join(build.compilerOptions.rootDir, path.relative(build.compilerOptions.outDir, script as string))
      .replace(/\.js$/, '.ts');
    expect(fs.existsSync(path.join(ROOT, source))).toBe(true);
    expect(one('WorkingDirectory')).toMatch(/^\//);
  });

  it('sets production mode and only environment variables the server knows', () => {
    expect(env.NODE_ENV).toBe('production');
    const hoinghi = Object.keys(env).filter((name) => name.startsWith('HOINGHI_'));
    expect(hoinghi.length).toBeGreaterThan(0);
    for (const name of hoinghi) expect(Object.keys(ENV_KEYS)).toContain(name);
    for (const name of Object.keys(env).filter((n) => !n.startsWith('HOINGHI_'))) {
      expect(['NODE_ENV', 'MEDIASOUP_WORKER_BIN']).toContain(name);
    }
  });
});
