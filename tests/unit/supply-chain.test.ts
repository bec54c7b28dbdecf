/**
 * Supply chain: the committed SBOM is current, every installed copy of a package with a known
 * advisory is at or above its floor (scripts/advisory-floors.json), and production dependencies
 * are pinned exactly.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

interface LockEntry {
  name?: string;
  version?: string;
  dev?: boolean;
  link?: boolean;
  dependencies?: Record<string, string>;
}
const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, LockEntry> };
const pkg = JSON.parse(read('package.json')) as {
  dependencies: Record<string, string>;
  scripts: Record<string, string>;
};

/** A package's name from its lockfile entry: its own name (an alias), else its place. */
const nameOf = (where: string, entry: LockEntry) =>
  entry.name ?? where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);

/** Every installed copy of every package: name, version and where it sits in node_modules. */
const copies = Object.entries(lock.packages)
  .filter(([where, entry]) => where !== '' && !entry.link && entry.version)
  .map(([where, entry]) => ({ where, name: nameOf(where, entry), version: entry.version as string }));

/** major, minor, patch and the pre-release tag ('' for a release) of a plain x.y.z version. */
function parse(version: string): [number, number, number, string] {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(version);
  if (!m) throw new Error(`not a version: ${version}`);
  return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] ?? ''];
}

/** Negative, zero or positive as a is below, equal to or above b (pre-releases below their release). */
function compareVersions(a: string, b: string): number {
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  if (x[3] === y[3]) return 0;
  if (x[3] === '') return 1;
  if (y[3] === '') return -1;
  return x[3] < y[3] ? -1 : 1;
}

/** Whether a version is on a release line: '*', 'N.x', '0.N.x' or '>=V'. */
function onLine(version: string, range: string): boolean {
  const [major, minor] = parse(version);
  if (range === '*') return true;
  if (range.startsWith('>=')) return compareVersions(version, range.slice(2)) >= 0;
  const m = /^(\d+)\.(?:(\d+)\.)?x$/.exec(range);
  if (!m) throw new Error(`unknown range ${range}`);
  return major === Number(m[1]) && (m[2] === undefined || minor === Number(m[2]));
}

describe('version comparison', () => {
  it.each([
    ['4.6.2', '4.6.2', 0],
    ['4.6.10', '4.6.2', 1],
    ['4.10.0', '4.9.9', 1],
    ['0.1.7', '0.1.10', -1],
    ['5.0.0-beta.3', '5.0.0', -1],
    ['5.0.0-beta.3', '5.0.0-beta.1', 1],
    ['10.0.0', '9.99.99', 1],
  ])('%s against %s: %i', (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b))).toBe(sign);
  });

  it('knows its release lines', () => {
    expect(onLine('0.1.12', '0.1.x')).toBe(true);
    expect(onLine('0.2.0', '0.1.x')).toBe(false);
    expect(onLine('8.4.2', '>=1.0.0')).toBe(true);
    expect(onLine('0.7.2', '>=1.0.0')).toBe(false);
    expect(onLine('5.3.0', '4.x')).toBe(false);
  });
});

interface Rule {
  range: string;
  min?: string;
  below?: string;
  exact?: string;
  advisory: string;
}
const floors = JSON.parse(read('scripts/advisory-floors.json')) as {
  packages: Record<string, Rule[]>;
  mayBeAbsent: string[];
};

describe('advisory floors (scripts/advisory-floors.json) in package-lock.json', () => {
  it('names an advisory or a reason for every rule', () => {
    for (const rules of Object.values(floors.packages)) {
      for (const rule of rules) {
        expect(rule.advisory.length).toBeGreaterThan(10);
        expect(rule.min ?? rule.exact).toBeDefined();
      }
    }
  });

  it.each(Object.keys(floors.packages))('%s: every installed copy at or above its floor', (name) => {
    const rules = floors.packages[name] as Rule[];
    const found = copies.filter((c) => c.name === name);
    if (!floors.mayBeAbsent.includes(name)) expect(found.length).toBeGreaterThan(0);
    for (const copy of found) {
      const rule = rules.find((r) => onLine(copy.version, r.range));
      const at = `${copy.where}@${copy.version}`;
      if (!rule) throw new Error(`${at}: no rule covers this release line; review its advisories`);
      if (rule.exact && copy.version !== rule.exact) {
        throw new Error(`${at} is not ${rule.exact}: ${rule.advisory}`);
      }
      if (rule.min && compareVersions(copy.version, rule.min) < 0) {
        throw new Error(`${at} is below ${rule.min}: ${rule.advisory}`);
      }
      if (rule.below && compareVersions(copy.version, rule.below) >= 0) {
        throw new Error(`${at} is not below ${rule.below}: ${rule.advisory}`);
      }
    }
  });
});

describe('package.json', () => {
  it.each(Object.entries(pkg.dependencies))(
    'pins the production dependency %s exactly (%s)',
    (name, spec) => {
      expect(spec).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
      // The lockfile agrees: the same spec at the root, that version installed.
      expect(lock.packages['']?.dependencies?.[name]).toBe(spec);
      expect(lock.packages[`node_modules/${name}`]?.version).toBe(spec);
    },
  );

  it('has the sbom script', () => {
    expect(pkg.scripts.sbom).toBe('node scripts/sbom.mjs');
  });
});

describe('sbom.cdx.json', () => {
  const committed = read('sbom.cdx.json');
  const bom = JSON.parse(committed) as {
    bomFormat: string;
    serialNumber?: string;
    metadata: { timestamp?: string; component: { name: string } };
    components: { 'bom-ref': string; purl: string }[];
  };

  it('is what `npm run sbom` makes from the committed lockfile (run it after changing dependencies)', () => {
    // --package-lock-only: no network and no node_modules needed.
    const fresh = execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'sbom.mjs'), '--stdout'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(fresh).toBe(committed);
  });

  it('is CycloneDX without volatile fields, components sorted by purl', () => {
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(bom.serialNumber).toBeUndefined();
    expect(bom.metadata.timestamp).toBeUndefined();
    expect(bom.metadata.component.name).toBe('hoinghi');
    const purls = bom.components.map((c) => c.purl);
    expect(purls).toEqual([...purls].sort());
    expect(committed.endsWith('}\n')).toBe(true);
  });

  it('lists every production package and no dev-only one', () => {
    const refs = new Set(bom.components.map((c) => c['bom-ref']));
    for (const name of Object.keys(pkg.dependencies)) {
      expect(refs).toContain(`${name}@${pkg.dependencies[name]}`);
    }
    // Shared with dev dependencies, and dropped by `npm sbom --omit dev` (npm/cli#7909).
    for (const name of ['socket.io-parser', 'engine.io-parser', 'debug']) {
      expect([...refs].some((r) => r.startsWith(`${name}@`))).toBe(true);
    }
    const prodRefs = new Set(
      Object.entries(lock.packages)
        .filter(([where, e]) => where !== '' && !e.dev && !e.link)
        .map(([where, e]) => `${nameOf(where, e)}@${e.version}`),
    );
    expect([...refs].sort()).toEqual([...prodRefs].sort());
    expect([...refs].some((r) => r.startsWith('jest@') || r.startsWith('typescript@'))).toBe(false);
  });
});
