// Bundles the browser consoles with esbuild into dist/client, next to the static files.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'client');
fs.mkdirSync(out, { recursive: true });
fs.cpSync(path.join(root, 'client', 'public'), out, { recursive: true });
await build({
  entryPoints: {
    site: path.join(root, 'client/src/site/main.ts'),
    chair: path.join(root, 'client/src/chair/main.ts'),
    index: path.join(root, 'client/src/index.ts'),
    wall: path.join(root, 'client/src/wall/main.ts'),
    operator: path.join(root, 'client/src/operator/main.ts'),
  },
  outdir: out,
  bundle: true,
  format: 'iife',
  target: ['chrome110', 'firefox115', 'safari16'],
  sourcemap: true,
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
