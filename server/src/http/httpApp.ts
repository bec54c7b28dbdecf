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
  timezone: string;
}

export function createHttpApp(deps: HttpDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
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

  /** Chair, co-chair and operators only: a bearer credential (or ?token= for a download link). */
  const reader: express.RequestHandler = (req, res, next) => {
    const header = req.get('authorization');
    const token = header?.startsWith('Bearer ') ? header.slice(7) : req.query.token;
    const v = deps.verify(token);
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
    res.json({ state: deps.state(), minutes: deps.minutes().length });
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

  app.get(['/site', '/chair', '/operator', '/wall'], (req, res) => {
    res.sendFile(path.join(deps.clientDir, `${req.path.slice(1)}.html`));
  });
  app.use(express.static(deps.clientDir, { index: 'index.html', maxAge: '1h' }));
  return app;
}
