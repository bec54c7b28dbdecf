/** express: the built client, health and readiness. */
import path from 'node:path';
import express from 'express';

export interface HttpDeps {
  clientDir: string;
  isReady: () => boolean;
  isStopping: () => boolean;
  /** The router's RTP capabilities: public, and fetched early so the browser can prepare in parallel. */
  rtpCapabilities: () => unknown;
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
  app.get(['/site', '/chair'], (req, res) => {
    res.sendFile(path.join(deps.clientDir, `${req.path.slice(1)}.html`));
  });
  app.use(express.static(deps.clientDir, { index: 'index.html', maxAge: '1h' }));
  return app;
}
