// Bundles the browser consoles with esbuild into dist/client, next to the static files.
// NODE_ENV=production (the Dockerfile): no source maps, so none can be served publicly.
// Otherwise each bundle links its map. HOINGHI_CLIENT_OUT: another output directory (tests).
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = process.env.HOINGHI_CLIENT_OUT
  ? path.resolve(process.env.HOINGHI_CLIENT_OUT)
  : path.join(root, 'dist', 'client');
const production = process.env.NODE_ENV === 'production';
fs.mkdirSync(out, { recursive: true });
if (production) {
  // Maps left by an earlier development build into the same directory.
  for (const f of fs.readdirSync(out)) if (f.endsWith('.map')) fs.rmSync(path.join(out, f));
}
fs.cpSync(path.join(root, 'client', 'public'), out, { recursive: true });
await build({
  entryPoints: {
    site: path.join(root, 'client/src/site/main.ts'),
    chair: path.join(root, 'client/src/chair/main.ts'),
    index: path.join(root, 'client/src/index.ts'),
    wall: path.join(root, 'client/src/wall/main.ts'),
    operator: path.join(root, 'client/src/operator/main.ts'),
    recorder: path.join(root, 'client/src/recorder/main.ts'),
    // The recorder's frame clock runs in a worker, loaded from this origin (CSP: no blob: workers).
    'recorder-clock': path.join(root, 'client/src/recorder/clock.ts'),
  },
  outdir: out,
  bundle: true,
  format: 'iife',
  target: ['chrome110', 'firefox115', 'safari16'],
  sourcemap: production ? false : 'linked',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
