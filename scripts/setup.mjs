#!/usr/bin/env node
// Idempotent setup run before `npm start`, `npm test` and `npm run bench`.
//
//   node scripts/setup.mjs run    npm packages + mediasoup worker
//   node scripts/setup.mjs test   the same + Chromium for the end-to-end tests
//
// Uses only Node's standard library: it runs before `node_modules` exists.
// Every step prints one line; a failed step says what failed and what to do.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODE = process.argv[2] ?? 'run';
const QUIET = process.env.HOINGHI_SETUP_QUIET === '1';

/** Debian packages needed to build the mediasoup worker from its own sources. */
const WORKER_BUILD_PACKAGES = [
  'g++',
  'meson',
  'ninja-build',
  'pkg-config',
  'libuv1-dev',
  'libssl-dev',
  'libsrtp2-dev',
  'libusrsctp-dev',
  'libabsl-dev',
  'nlohmann-json3-dev',
];
/** Commands node-gyp needs to compile better-sqlite3 (its prebuilt download may be unreachable), and their packages. */
const NATIVE_BUILD_COMMANDS = { python3: 'python3', make: 'make', 'g++': 'g++' };
/**
 * Commands the server runs, and their packages: poppler converts PDF decks to page images,
 * ffmpeg writes the recordings and carries RTP in and out, Chromium renders the programme
 * composite (its recording and stream) with a font that has Vietnamese glyphs.
 */
const RUN_COMMANDS = {
  pdftoppm: 'poppler-utils',
  pdfinfo: 'poppler-utils',
  ffmpeg: 'ffmpeg',
  ffprobe: 'ffmpeg',
  chromium: 'chromium',
};
/** Debian packages the server and the end-to-end tests need besides those commands. */
const RUN_PACKAGES = ['fonts-dejavu-core'];

class SetupError extends Error {
  constructor(step, message, hint) {
    super(message);
    this.step = step;
    this.hint = hint;
  }
}

function say(line) {
  if (!QUIET) process.stdout.write(`[setup] ${line}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: opts.capture ? 'pipe' : 'inherit', encoding: 'utf8', ...opts });
  if (r.error) return { ok: false, out: String(r.error.message) };
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function checkNode() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20) {
    throw new SetupError('node', `Node ${process.versions.node} is too old`, 'Install Node.js 20 or newer.');
  }
}

// ---------------------------------------------------------------- Debian packages

function isDebian() {
  return fs.existsSync('/usr/bin/dpkg-query') && fs.existsSync('/usr/bin/apt-get');
}

function missingPackages(pkgs) {
  return pkgs.filter((p) => {
    const r = run('dpkg-query', ['-W', '-f=${Status}', p], { capture: true });
    return !(r.ok && r.out.includes('install ok installed'));
  });
}

function hasCommand(cmd) {
  return run('sh', ['-c', `command -v ${cmd}`], { capture: true }).ok;
}

/** Installs the packages of the commands that are not on PATH (whoever provided the others). */
function ensureCommands(commands, why) {
  const missing = Object.entries(commands).filter(([cmd]) => !hasCommand(cmd));
  if (missing.length) ensurePackages([...new Set(missing.map(([, pkg]) => pkg))], why);
}

function ensurePackages(pkgs, why) {
  if (!isDebian()) {
    say(`not a Debian system: make sure these are installed (${why}): ${pkgs.join(' ')}`);
    return;
  }
  const missing = missingPackages(pkgs);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new SetupError(
      'apt',
      `missing Debian packages (${why}): ${missing.join(' ')}`,
      `Run as root, or install them first: sudo apt-get install -y ${missing.join(' ')}`,
    );
  }
  say(`installing Debian packages (${why}): ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const args = ['install', '-y', '-q', '--no-install-recommends', ...missing];
  let r = run('apt-get', args, { capture: true, env });
  if (!r.ok) {
    // A fresh machine may have empty package lists.
    run('apt-get', ['update', '-q'], { capture: true, env });
    r = run('apt-get', args, { capture: true, env });
  }
  if (!r.ok) {
    throw new SetupError(
      'apt',
      `apt-get could not install: ${missing.join(' ')}\n${r.out.split('\n').slice(-8).join('\n')}`,
      'Check the machine can reach its Debian mirror (apt-get update), then run again.',
    );
  }
}

// ---------------------------------------------------------------- npm packages

function lockHash() {
  const lock = fs.readFileSync(path.join(ROOT, 'package-lock.json'));
  return createHash('sha256').update(lock).update(process.version).digest('hex');
}

function ensureNpmPackages(workerBin) {
  const marker = path.join(ROOT, 'node_modules', '.hoinghi-installed');
  const want = lockHash();
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === want) return;
  ensureCommands(NATIVE_BUILD_COMMANDS, 'to compile better-sqlite3');
  say('installing npm packages (npm ci)');
  // MEDIASOUP_WORKER_BIN makes mediasoup's postinstall skip its own download/build:
  // the worker is handled below, cached outside node_modules.
  const r = run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: ROOT,
    env: { ...process.env, MEDIASOUP_WORKER_BIN: workerBin },
  });
  if (!r.ok) {
    throw new SetupError(
      'npm',
      'npm ci failed (see above)',
      'Check access to the npm registry, then run again.',
    );
  }
  fs.writeFileSync(marker, want);
}

// ---------------------------------------------------------------- mediasoup worker

/** Same rule as server/src/media/workerBinary.ts: cached per version, outside node_modules. */
function mediasoupWorkerPath(version) {
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const root = process.env.HOINGHI_CACHE_DIR || path.join(cache, 'hoinghi');
  return path.join(root, `mediasoup-worker-${version}-${os.platform()}-${os.arch()}`, 'mediasoup-worker');
}

function mediasoupPackage() {
  const dir = path.join(ROOT, 'node_modules', 'mediasoup');
  return { dir, pkg: JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) };
}

/** Starts and closes a real worker with the given binary: the only proof that it runs here. */
function workerWorks(bin) {
  if (!fs.existsSync(bin)) return false;
  const probe = `require('mediasoup').createWorker({logLevel:'error'}).then(w=>{w.close();process.exit(0)},e=>{console.error(e.message);process.exit(1)})`;
  const r = run(process.execPath, ['-e', probe], {
    capture: true,
    cwd: ROOT,
    env: { ...process.env, MEDIASOUP_WORKER_BIN: bin },
    timeout: 20000,
  });
  return r.ok;
}

async function downloadPrebuilt(pkg, bin) {
  if (process.env.HOINGHI_SKIP_PREBUILT === '1') return false;
  const base = pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
  const tarName = `mediasoup-worker-${pkg.version}-${os.platform()}-${os.arch()}.tgz`;
  const url = `${base}/releases/download/${pkg.version}/${tarName}`;
  say(`trying mediasoup's prebuilt worker ${tarName}`);
  let res;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(20000) });
  } catch (e) {
    say(`  prebuilt worker not reachable (${e.cause?.code ?? e.message}); will build it`);
    return false;
  }
  if (!res.ok) {
    say(`  prebuilt worker not available (HTTP ${res.status}); will build it`);
    return false;
  }
  const dir = path.dirname(bin);
  const tgz = path.join(dir, tarName);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(tgz, Buffer.from(await res.arrayBuffer()));
  const x = run('tar', ['-xzf', tgz, '-C', dir], { capture: true });
  fs.rmSync(tgz, { force: true });
  if (!x.ok || !workerWorks(bin)) {
    say('  prebuilt worker does not run on this machine; will build it');
    fs.rmSync(bin, { force: true });
    return false;
  }
  return true;
}

/**
 * Rewrites mediasoup's meson files to use Debian's libraries instead of meson
 * "wraps" downloaded from the internet, and drops the test/fuzzer targets.
 */
export function patchMesonForSystemLibs(mainMeson, webrtcMeson) {
  const systemDeps = `# hoinghi: system libraries instead of downloaded subprojects
openssl_dep = dependency('openssl')
nlohmann_json_dep = dependency('nlohmann_json')
libuv_dep = dependency('libuv')
libsrtp2_sys = dependency('libsrtp2')
libsrtp2_dep = declare_dependency(
  dependencies: libsrtp2_sys,
  compile_args: ['-I' + libsrtp2_sys.get_variable(pkgconfig: 'includedir') / 'srtp2'],
)
usrsctp_dep = dependency('usrsctp')
absl_container_dep = dependency('absl_flat_hash_map')
absl_strings_dep = dependency('absl_strings')
absl_types_dep = dependency('absl_optional')
`;
  const useDeps = (s) => s.replace(/\w+_proj\.get_variable\('(\w+_dep)'\)/g, '$1');
  let main = mainMeson
    .replace(/meson_version: '>= [\d.]+'/, "meson_version: '>= 1.0.0'")
    .replace(/^\w+_proj = subproject\([\s\S]*?\n\)\n/gm, '')
    .replace(/^libwebrtc_include_directories = /m, `${systemDeps}libwebrtc_include_directories = `)
    .replace(/^link_whole = \[[\s\S]*?\n\]/m, 'link_whole = [\n  libwebrtc,\n]');
  main = useDeps(main);
  const cut = main.indexOf('\ntest_sources = [');
  if (cut > 0) main = main.slice(0, cut) + '\n';
  const webrtc = useDeps(webrtcMeson.replace(/^\w+_proj = subproject\([\s\S]*?\n\)\n/gm, ''));
  if (
    /_proj\.get_variable\(/.test(main.replace(/if host_machine[\s\S]*?endif/g, '')) ||
    /_proj/.test(webrtc)
  ) {
    throw new Error('unexpected meson.build layout: cannot rewrite subprojects');
  }
  return { main, webrtc };
}

function buildWorker(dir, version, bin) {
  ensurePackages(WORKER_BUILD_PACKAGES, 'to build the mediasoup worker');
  const buildRoot = path.join(path.dirname(bin), 'build');
  fs.rmSync(buildRoot, { recursive: true, force: true });
  const src = path.join(buildRoot, 'worker');
  fs.cpSync(path.join(dir, 'worker'), src, { recursive: true });
  const mainFile = path.join(src, 'meson.build');
  const webrtcFile = path.join(src, 'deps', 'libwebrtc', 'meson.build');
  const { main, webrtc } = patchMesonForSystemLibs(
    fs.readFileSync(mainFile, 'utf8'),
    fs.readFileSync(webrtcFile, 'utf8'),
  );
  fs.writeFileSync(mainFile, main);
  fs.writeFileSync(webrtcFile, webrtc);
  const log = path.join(path.dirname(bin), 'build.log');
  say(
    `building mediasoup-worker ${version} against Debian's libraries (about 5-8 minutes on 2 cores; log: ${log})`,
  );
  const logFd = fs.openSync(log, 'w');
  const step = (args) =>
    spawnSync(args[0], args.slice(1), { cwd: src, stdio: ['ignore', logFd, logFd] }).status === 0;
  const ok =
    step(['meson', 'setup', 'out', '--buildtype=release', '-Db_ndebug=true', '--wrap-mode=nodownload']) &&
    step(['ninja', '-C', 'out', 'mediasoup-worker']);
  fs.closeSync(logFd);
  if (!ok) {
    const tail = fs.readFileSync(log, 'utf8').split('\n').slice(-15).join('\n');
    throw new SetupError('worker', `building mediasoup-worker failed:\n${tail}`, `See ${log}.`);
  }
  fs.copyFileSync(path.join(src, 'out', 'mediasoup-worker'), bin);
  fs.chmodSync(bin, 0o755);
  fs.rmSync(buildRoot, { recursive: true, force: true });
}

async function ensureWorker(bin) {
  if (process.env.MEDIASOUP_WORKER_BIN && process.env.MEDIASOUP_WORKER_BIN !== bin) {
    if (workerWorks(process.env.MEDIASOUP_WORKER_BIN)) return;
    throw new SetupError(
      'worker',
      `MEDIASOUP_WORKER_BIN=${process.env.MEDIASOUP_WORKER_BIN} does not start a mediasoup worker`,
      'Unset MEDIASOUP_WORKER_BIN to let setup provide the worker.',
    );
  }
  if (workerWorks(bin)) return;
  const { dir, pkg } = mediasoupPackage();
  // A cached binary that no longer runs (e.g. Debian libraries removed) is rebuilt.
  if (fs.existsSync(bin) && isDebian())
    ensurePackages(['libuv1', 'libsrtp2-1', 'libusrsctp2'], 'worker runtime');
  if (workerWorks(bin)) return;
  fs.rmSync(bin, { force: true });
  if (!(await downloadPrebuilt(pkg, bin))) buildWorker(dir, pkg.version, bin);
  if (!workerWorks(bin)) {
    throw new SetupError(
      'worker',
      `the mediasoup worker at ${bin} does not start`,
      `Delete ${path.dirname(bin)} and run again.`,
    );
  }
  say(`mediasoup worker ready: ${bin}`);
}

// ---------------------------------------------------------------- main

async function main() {
  if (!['run', 'test'].includes(MODE)) {
    throw new SetupError('args', `unknown mode "${MODE}"`, 'Use: node scripts/setup.mjs run|test');
  }
  checkNode();
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).dependencies.mediasoup;
  const bin = mediasoupWorkerPath(version);
  ensureNpmPackages(bin);
  await ensureWorker(bin);
  ensureCommands(RUN_COMMANDS, 'to convert PDF decks, record and render the programme');
  ensurePackages(RUN_PACKAGES, 'a font with Vietnamese glyphs for the programme composite');
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  main().catch((e) => {
    const step = e instanceof SetupError ? e.step : 'unexpected';
    process.stderr.write(`\n[setup] FAILED (${step}): ${e.message}\n`);
    if (e.hint) process.stderr.write(`[setup] what to do: ${e.hint}\n`);
    if (!(e instanceof SetupError)) process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  });
}
