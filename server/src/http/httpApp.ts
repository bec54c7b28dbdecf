/** express: the built client, health, readiness, and the chair's and operators' read-only API. */
import path from 'node:path';
import express from 'express';
import type { Verified } from '../auth/credentials';
import { type ConferenceState, MINUTES_READERS, type MinuteEntry } from '../core/model';
import { minuteRows, minutesCsv } from './minutesExport';

export interface HttpDeps {
  clientDir: string;
  isReady: () => boolean;
  isStopping: () => boolean;
  /** The router's RTP capabilities: public, and fetched early so the browser can prepare in parallel. */
  rtpCapabilities: () => unknown;
  verify: (token: unknown) => Verified;
  state: () => ConferenceState;
  minutes: () => MinuteEntry[];
  /** How many minutes lines there are, counted by the store without loading them. */
  minutesCount: () => number;
  /** The media sockets as the kernel sees them: receive buffer, queue, drops per worker. */
  mediaHealth?: () => unknown;
  timezone: string;
  /** Serve `*.map` files; default: not when NODE_ENV=production (the build then emits none anyway). */
  serveSourceMaps?: boolean;
}

/**
 * The Content-Security-Policy of every answer. Scripts only from this origin and no inline
 * script (the consoles are bundled files). Styles only from /styles.css: the pages have no
 * `style="…"` attribute and no <style> element; the scripts set `element.style` (meter bar,
 * mosaic columns), which CSP does not restrict, so no 'unsafe-inline' is needed. Video and
 * audio play MediaStreams (`srcObject`), which media-src does not restrict either.
 */
const CSP_DIRECTIVES = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
];
/** A Host header that is only a host name or address and a port: safe to repeat in the policy. */
const PLAIN_HOST = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

function contentSecurityPolicy(host: string | undefined): string {
  // 'self' covers a same-origin WebSocket (ws:/wss:) in CSP Level 3 browsers; older ones
  // (Safari before 15.4) need it named. Only a well-formed Host is repeated, never ws:/wss: alone.
  const sockets = host && PLAIN_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [...CSP_DIRECTIVES, `connect-src 'self'${sockets}`].join('; ');
}

/**
 * Security headers, written here rather than with helmet: five fixed headers do not need a
 * dependency, and helmet's defaults (HSTS among them) would have to be turned off one by one.
 *
 * No Strict-Transport-Security: this server speaks plain HTTP (on 127.0.0.1 behind the TLS
 * proxy, or on localhost in development), where HSTS is meaningless or, on localhost, harmful
 * to other development servers. The TLS proxy sets it (README, "HTTPS").
 */
const securityHeaders: express.RequestHandler = (req, res, next) => {
  res.setHeader('Content-Security-Policy', contentSecurityPolicy(req.get('host')));
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // Join links carry the credential in the URL fragment (#t=…). Browsers never put a fragment
  // in Referer, but nothing of a console's address (path, ?auto=1, ?q=low) has to leave either.
  res.setHeader('Referrer-Policy', 'no-referrer');
  next();
};

/**
 * The credential of an /api/* request: from `Authorization: Bearer …` and nowhere else (a
 * credential in the query string would end up in proxy logs and browser history).
 */
export function bearerToken(req: express.Request): string | undefined {
  const header = req.get('authorization');
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}

export function createHttpApp(deps: HttpDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const ready = deps.isReady() && !deps.isStopping();
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : deps.isStopping() ? 'stopping' : 'starting' });
  });
  app.get('/api/rtp-capabilities', (_req, res) => {
    res.json(deps.rtpCapabilities());
  });

  /**
   * Chair, co-chair and operators only, with the credential in `Authorization: Bearer …` and
   * nowhere else: a credential in the query string would end up in proxy logs and browser history.
   */
  const reader: express.RequestHandler = (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    const v = deps.verify(bearerToken(req));
    if (!v.ok) {
      res
        .status(401)
        .json({ error: { code: v.code, message: 'a valid chair or operator credential is required' } });
    } else if (!MINUTES_READERS.includes(v.actor.role)) {
      res
        .status(403)
        .json({ error: { code: 'FORBIDDEN', message: 'only the chair and operators may read this' } });
    } else {
      next();
    }
  };

  app.get('/api/state', reader, (_req, res) => {
    res.json({ state: deps.state(), minutes: deps.minutesCount() });
  });
  app.get('/api/health', reader, (_req, res) => {
    res.json({ media: deps.mediaHealth?.() ?? null });
  });
  app.get(['/api/minutes.json', '/api/minutes.csv'], reader, (req, res) => {
    const lang = req.query.lang === 'en' ? 'en' : 'vi';
    const state = deps.state();
    const minutes = deps.minutes();
    const stamp = new Date().toISOString().slice(0, 10);
    if (req.path.endsWith('.json')) {
      res.json({ conference: { id: state.id, title: state.title }, timezone: deps.timezone, minutes });
      return;
    }
    res
      .type('text/csv; charset=utf-8')
      .attachment(`bien-ban-${state.id}-${stamp}.csv`)
      .send(minutesCsv(minuteRows(state, minutes, deps.timezone, lang), lang));
  });

  app.get(['/site', '/chair', '/operator', '/wall', '/recorder'], (req, res) => {
    res.sendFile(path.join(deps.clientDir, `${req.path.slice(1)}.html`));
  });
  if (!(deps.serveSourceMaps ?? process.env.NODE_ENV !== 'production')) {
    // Defence in depth: a production build has no source maps, and none is served if one is left.
    app.get(/\.map$/i, (_req, res) => {
      res.status(404).end();
    });
  }
  app.use(express.static(deps.clientDir, { index: 'index.html', maxAge: '1h' }));
  return app;
}
