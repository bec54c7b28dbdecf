// Writes sbom.cdx.json: the production dependencies as a CycloneDX SBOM, from the committed
// package-lock.json only (no network, no node_modules), stable from machine to machine so that
// it can be committed and checked for freshness (tests/unit/supply-chain.test.ts).
//
//   npm run sbom                   regenerate sbom.cdx.json
//   node scripts/sbom.mjs --stdout print it instead
//
// Why not `npm sbom --omit dev`: npm (10 and 11.19) then also drops production packages that a
// dev dependency shares (npm/cli#7909): socket.io-parser, engine.io-parser, debug and ms here.
// So the whole tree is listed and the dev-only packages are removed by the lockfile's own
// "dev" flag, which is what `npm ci --omit dev` goes by.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SBOM_FILE = path.join(root, 'sbom.cdx.json');

/**
 * name@version of every package that `npm ci --omit dev` installs, from package-lock.json,
 * with its scope: 'required', or 'optional' when every copy of it is an optional dependency.
 */
function productionPackages() {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const keep = new Map();
  for (const [where, entry] of Object.entries(lock.packages)) {
    if (where === '' || entry.dev || entry.link) continue;
    const name = entry.name ?? where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const ref = `${name}@${entry.version}`;
    if (keep.get(ref) !== 'required') keep.set(ref, entry.optional ? 'optional' : 'required');
  }
  return keep;
}

const byString = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

export function generateSbom() {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const raw = execFileSync(
    npm,
    ['sbom', '--sbom-format', 'cyclonedx', '--sbom-type', 'application', '--package-lock-only'],
    { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const bom = JSON.parse(raw);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const keep = productionPackages();
  const rootRef = bom.metadata.component['bom-ref'];
  const direct = new Set(Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }));

  // Volatile: a random serial number, the time, npm's version; and the root component's name,
  // which npm takes from the checkout's directory name.
  delete bom.serialNumber;
  delete bom.metadata.timestamp;
  for (const tool of bom.metadata.tools ?? []) delete tool.version;
  bom.metadata.component.name = pkg.name;

  const components = bom.components.filter((c) => keep.has(c['bom-ref']));
  // npm lists a name@version once: when a dev-only copy of it exists too (semver here), the
  // entry may carry that copy's dev scope. Scope from the production copies instead.
  for (const c of components) {
    c.scope = keep.get(c['bom-ref']);
    c.properties = (c.properties ?? []).filter((p) => p.name !== 'cdx:npm:package:development');
  }
  const refs = new Set(components.map((c) => c['bom-ref']));
  components.sort((a, b) => byString(a.purl, b.purl) || byString(a['bom-ref'], b['bom-ref']));
  bom.components = components;
  bom.dependencies = bom.dependencies
    .filter((d) => d.ref === rootRef || refs.has(d.ref))
    .map((d) => ({
      ...d,
      dependsOn: d.dependsOn
        // The root's own edges: its production dependencies only, not its devDependencies.
        .filter((r) => refs.has(r) && (d.ref !== rootRef || direct.has(r.slice(0, r.lastIndexOf('@')))))
        .sort(byString),
    }))
    .sort((a, b) => (a.ref === rootRef ? -1 : b.ref === rootRef ? 1 : byString(a.ref, b.ref)));

  const missing = [...keep.keys()].filter((ref) => !refs.has(ref));
  if (missing.length > 0) throw new Error(`npm sbom did not list: ${missing.join(', ')}`);
  const text = `${JSON.stringify(bom, null, 2)}\n`;
  // Nothing machine-specific may remain.
  if (text.includes(root)) throw new Error(`the SBOM mentions ${root}`);
  return text;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = generateSbom();
  if (process.argv.includes('--stdout')) process.stdout.write(text);
  else {
    fs.writeFileSync(SBOM_FILE, text);
    console.log(`wrote ${path.relative(process.cwd(), SBOM_FILE) || SBOM_FILE}`);
  }
}
