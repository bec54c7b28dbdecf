/**
 * The HTTP app on its own (stub conference): security headers on every answer, credentials only
 * in the Authorization header, and no source maps served in production.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Verified } from '../../server/src/auth/credentials';
import type { ConferenceState, Role } from '../../server/src/core/model';
import { type HttpDeps, createHttpApp } from '../../server/src/http/httpApp';

/** A valid credential of this role (the stub's verify; the real one is tested elsewhere). */
const valid = (role: Role, principal: string, siteCode: string) =>
  ({ ok: true, actor: { role, principal, siteCode }, expiresAt: 0, generation: 0 }) as Verified;
const TOKENS: Record<string, Verified> = {
  'chair-token': valid('chair', 'chair', 'tw'),
  'site-token': valid('site', 'ha-noi', 'ha-noi'),
};

let clientDir: string;

beforeAll(() => {
  clientDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-http-'));
  for (const page of ['site', 'chair', 'operator', 'wall', 'index']) {
    fs.writeFileSync(path.join(clientDir, `${page}.html`), `<!doctype html><title>${page}</title>`);
  }
  fs.writeFileSync(path.join(clientDir, 'site.js'), '//# sourceMappingURL=site.js.map\n');
  fs.writeFileSync(path.join(clientDir, 'site.js.map'), '{"version":3}');
});
afterAll(() => fs.rmSync(clientDir, { recursive: true, force: true }));

async function serve(extra: Partial<HttpDeps> = {}): Promise<{ url: string; close: () => Promise<void> }> {
  const app = createHttpApp({
    clientDir,
    isReady: () => true,
    isStopping: () => false,
    rtpCapabilities: () => ({ codecs: [] }),
    verify: (token) =>
      typeof token === 'string'
        ? (TOKENS[token] ?? { ok: false, code: 'AUTH_INVALID_TOKEN' })
        : { ok: false, code: 'AUTH_REQUIRED' },
    state: () => ({ id: 'hoi-nghi', title: 'Hội nghị' }) as unknown as ConferenceState,
    minutes: () => [],
    minutesCount: () => 0,
    timezone: 'Asia/Ho_Chi_Minh',
    ...extra,
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The Content-Security-Policy as directive → sources. */
function csp(header: string | null): Record<string, string[]> {
  expect(header).toBeTruthy();
  return Object.fromEntries(
    (header as string)
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([name, ...sources]) => [name as string, sources]),
  );
}

describe('HTTP security headers', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    server = await serve();
  });
  afterAll(() => server.close());

  it.each([
    ['/site', undefined],
    ['/chair', undefined],
    ['/', undefined],
    ['/api/state', 'chair-token'],
    ['/api/state', undefined],
    ['/healthz', undefined],
  ])('on %s (credential %s)', async (p, token) => {
    const res = await fetch(`${server.url}${p}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    expect(res.status).toBe(p === '/api/state' && !token ? 401 : 200);
    const policy = csp(res.headers.get('content-security-policy'));
    expect(policy['default-src']).toEqual(["'self'"]);
    expect(policy['script-src']).toEqual(["'self'"]);
    expect(policy['style-src']).toEqual(["'self'"]);
    expect(policy['img-src']).toEqual(["'self'", 'data:', 'blob:']);
    expect(policy['media-src']).toEqual(["'self'", 'blob:']);
    expect(policy['object-src']).toEqual(["'none'"]);
    expect(policy['base-uri']).toEqual(["'self'"]);
    expect(policy['frame-ancestors']).toEqual(["'none'"]);
    // Same origin, and the WebSocket to this very host: never a bare ws:/wss: scheme.
    const host = new URL(server.url).host;
    expect(policy['connect-src']).toEqual(["'self'", `ws://${host}`, `wss://${host}`]);
    for (const sources of Object.values(policy)) {
      expect(sources).not.toContain("'unsafe-inline'");
      expect(sources).not.toContain("'unsafe-eval'");
    }
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    // HSTS is the TLS proxy's business, never sent over this plain-HTTP listener.
    expect(res.headers.get('strict-transport-security')).toBeNull();
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('repeats only a well-formed Host in connect-src', async () => {
    const { port } = new URL(server.url);
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.get(
        {
          host: '127.0.0.1',
          port,
          path: '/site',
          headers: { host: "evil.example; script-src 'unsafe-inline'" },
        },
        (res) => {
          res.resume();
          resolve(String(res.headers['content-security-policy']));
        },
      );
      req.on('error', reject);
    });
    expect(csp(body)['connect-src']).toEqual(["'self'"]);
    expect(csp(body)['script-src']).toEqual(["'self'"]);
  });
});

describe('/api/* credentials', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    server = await serve();
  });
  afterAll(() => server.close());

  it.each(['/api/state', '/api/minutes.csv', '/api/minutes.json'])(
    '%s: the Authorization header only, never ?token=',
    async (p) => {
      const bearer = await fetch(`${server.url}${p}`, { headers: { authorization: 'Bearer chair-token' } });
      expect(bearer.status).toBe(200);
      expect(bearer.headers.get('cache-control')).toBe('no-store');
      await bearer.arrayBuffer();

      const query = await fetch(`${server.url}${p}?token=chair-token`);
      expect(query.status).toBe(401);
      expect(((await query.json()) as { error: { code: string } }).error.code).toBe('AUTH_REQUIRED');

      const both = await fetch(`${server.url}${p}?token=chair-token`, {
        headers: { authorization: 'Bearer nonsense' },
      });
      expect(both.status).toBe(401);
      await both.arrayBuffer();
    },
  );

  it('still refuses a valid credential of the wrong role with 403', async () => {
    const res = await fetch(`${server.url}/api/state`, { headers: { authorization: 'Bearer site-token' } });
    expect(res.status).toBe(403);
  });
});

describe('source maps', () => {
  it('are not served when NODE_ENV=production', async () => {
    const saved = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    const server = await serve();
    try {
      expect((await fetch(`${server.url}/site.js.map`)).status).toBe(404);
      expect((await fetch(`${server.url}/SITE.JS.MAP`)).status).toBe(404);
      expect((await fetch(`${server.url}/site.js`)).status).toBe(200);
    } finally {
      process.env.NODE_ENV = saved;
      await server.close();
    }
  });

  it('are served in development, for the debugger', async () => {
    const server = await serve({ serveSourceMaps: true });
    try {
      const res = await fetch(`${server.url}/site.js.map`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toBeTruthy();
    } finally {
      await server.close();
    }
  });
});
