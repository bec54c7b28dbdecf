/**
 * The Prometheus endpoint.
 *
 *   GET /metrics   Authorization: Bearer <chair, co-chair or operator credential>
 *   → 200 text/plain (Prometheus text format)  |  401, 403 { error: { code, message } }
 *
 * Without a credential it answers only a scraper on this host (`metrics.allowLocalhost`, default
 * on): a connection from a loopback address that did not come through a proxy. In production the
 * TLS proxy on the same host also connects from loopback, so a request that carries a proxy's
 * forwarding header (X-Forwarded-For, Forwarded, X-Real-IP, …) is not taken as local; the proxy
 * should refuse /metrics as well (README, "HTTPS: a reverse proxy in front").
 */
import type express from 'express';
import type { Verified } from '../auth/credentials';
import { MINUTES_READERS } from '../core/model';
import { createLogger } from '../logger';
import type { Metrics } from '../metrics/metrics';
import { bearerToken } from './httpApp';

const log = createLogger('metrics');

/** Headers a reverse proxy adds: a request carrying one came from somewhere else through it. */
const FORWARDING_HEADERS = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'via',
];

export interface MetricsApiDeps {
  verify: (token: unknown) => Verified;
  /** Answer a loopback scraper that comes without a credential (and not through a proxy). */
  allowLocalhost: boolean;
  metrics: Metrics;
}

/** 127.0.0.0/8, ::1, and 127.x mapped into IPv6 (::ffff:127.x.y.z). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase();
  if (a === '::1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v4);
  return m !== null && m.slice(1).every((n) => Number(n) <= 255);
}

/** A direct connection from this host: loopback peer, no proxy's forwarding header. */
export function isLocalRequest(req: express.Request): boolean {
  return isLoopback(req.socket.remoteAddress) && FORWARDING_HEADERS.every((h) => req.get(h) === undefined);
}

const error = (res: express.Response, status: number, code: string, message: string) =>
  res.status(status).json({ error: { code, message } });

export function metricsApi(deps: MetricsApiDeps): express.RequestHandler {
  return (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    if (!(deps.allowLocalhost && isLocalRequest(req))) {
      const v = deps.verify(bearerToken(req));
      if (!v.ok) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        return void error(res, 401, v.code, 'a valid chair or operator credential is required');
      }
      if (!MINUTES_READERS.includes(v.actor.role))
        return void error(res, 403, 'FORBIDDEN', 'only the chair and operators may read the metrics');
    }
    deps.metrics.expose().then(
      (text) => {
        res.type(deps.metrics.contentType).send(text);
      },
      (e: unknown) => {
        log.error('collecting the metrics failed', { error: e });
        error(res, 500, 'INTERNAL', 'internal error');
      },
    );
  };
}
