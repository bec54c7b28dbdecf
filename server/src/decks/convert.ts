/**
 * PDF decks to page images, outside the server's process: Debian's poppler (`pdfinfo` to count
 * the pages, `pdftoppm` to render them), each run under an address-space limit (`prlimit`), at a
 * lower CPU priority than the media (`nice`), in its own process group and killed with it when
 * it overruns its time. The file is checked first (size, the PDF signature, the page count), so
 * a refusal costs nothing. Pages are rendered into a scratch directory beside the target and
 * moved into place only when every page is there: a failure leaves nothing behind.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface ConvertLimits {
  /** Largest file accepted. */
  maxBytes: number;
  maxPages: number;
  /** Whole conversion (counting and rendering), ms. */
  timeoutMs: number;
  /** Address space of each converter process, bytes. */
  memoryBytes: number;
  /** Width of the page images, px (height follows the page). */
  widthPx: number;
}

/** Why a deck was refused: each maps to words on the uploader's screen. */
export type DeckErrorCode = 'NOT_PDF' | 'TOO_LARGE' | 'TOO_MANY_PAGES' | 'CORRUPT' | 'TIMEOUT' | 'FAILED';

export class DeckError extends Error {
  override name = 'DeckError';
  constructor(
    readonly code: DeckErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs a converter command limited in memory and time, below the media's CPU priority. The
 * deadline is absolute (shared by the steps of one conversion). Killed with its whole group.
 */
function limited(cmd: string, args: string[], deadline: number, memoryBytes: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('prlimit', [`--as=${memoryBytes}`, '--', 'nice', '-n', '10', cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so the kill reaches pdftoppm and not only prlimit
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    // Enough of the output to read a page count or an error, never an unbounded buffer.
    child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-16_384)));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4096)));
    const timer = setTimeout(
      () => {
        timedOut = true;
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      },
      Math.max(0, deadline - Date.now()),
    );
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** Whether the file starts like a PDF: "%PDF-" within its first 1024 bytes, as readers accept. */
function looksLikePdf(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(1024);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).includes('%PDF-');
  } finally {
    fs.closeSync(fd);
  }
}

/** A whole PNG: the signature at the start and the IEND chunk at the end. */
function isPng(file: string): boolean {
  const b = fs.readFileSync(file);
  return (
    b.length > 57 &&
    b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) &&
    b.subarray(b.length - 8, b.length - 4).toString('latin1') === 'IEND'
  );
}

export interface Converted {
  pages: number;
  /** Page images in order: outDir/1.png … outDir/N.png. */
  files: string[];
}

/**
 * Converts `file` into `outDir` (which must not exist yet). `onProgress(done, total)` is called
 * as pages appear. Throws DeckError; on any failure nothing is left at `outDir` or beside it.
 */
export async function convertPdf(
  file: string,
  outDir: string,
  limits: ConvertLimits,
  onProgress?: (done: number, total: number) => void,
): Promise<Converted> {
  const deadline = Date.now() + limits.timeoutMs;
  const size = fs.statSync(file).size;
  if (size > limits.maxBytes)
    throw new DeckError('TOO_LARGE', `the file has ${size} bytes; at most ${limits.maxBytes}`);
  if (size === 0 || !looksLikePdf(file)) throw new DeckError('NOT_PDF', 'the file is not a PDF');

  const info = await limited('pdfinfo', [file], deadline, limits.memoryBytes);
  if (info.timedOut) throw new DeckError('TIMEOUT', 'reading the PDF took too long');
  const pages = Number(/^Pages:\s+(\d+)/m.exec(info.stdout)?.[1] ?? NaN);
  if (info.code !== 0 || !Number.isInteger(pages) || pages < 1)
    throw new DeckError(
      'CORRUPT',
      `the PDF cannot be read${info.stderr ? `: ${info.stderr.trim().split('\n')[0]}` : ''}`,
    );
  if (pages > limits.maxPages)
    throw new DeckError('TOO_MANY_PAGES', `the PDF has ${pages} pages; at most ${limits.maxPages}`);

  if (fs.existsSync(outDir)) throw new DeckError('FAILED', 'the deck already exists');
  const scratch = path.join(
    path.dirname(outDir),
    `.${path.basename(outDir)}.${randomBytes(4).toString('hex')}`,
  );
  fs.mkdirSync(scratch, { recursive: true });
  const count = () => fs.readdirSync(scratch).filter((f) => f.endsWith('.png')).length;
  let reported = -1;
  const poll = setInterval(() => {
    // pdftoppm writes each page when it is done: a page on disk is a page rendered.
    const n = Math.max(0, count() - 1);
    if (n !== reported) onProgress?.((reported = n), pages);
  }, 200);
  try {
    const run = await limited(
      'pdftoppm',
      ['-png', '-scale-to-x', String(limits.widthPx), '-scale-to-y', '-1', file, path.join(scratch, 'p')],
      deadline,
      limits.memoryBytes,
    );
    if (run.timedOut)
      throw new DeckError('TIMEOUT', `converting took longer than ${Math.round(limits.timeoutMs / 1000)} s`);
    // pdftoppm says so and still exits 0, with broken images, when a page does not fit in memory.
    if (/out of memory/i.test(run.stderr))
      throw new DeckError('TOO_LARGE', 'the pages are too large to render within the memory limit');
    if (run.code !== 0)
      throw new DeckError(
        'CORRUPT',
        `the PDF cannot be rendered${run.stderr ? `: ${run.stderr.trim().split('\n')[0]}` : ''}`,
      );
    // p-1.png, p-01.png or p-001.png, by the page count: the number is the page.
    const rendered = fs
      .readdirSync(scratch)
      .map((f) => ({ f, n: Number(/^p-(\d+)\.png$/.exec(f)?.[1] ?? NaN) }))
      .filter((x) => Number.isInteger(x.n))
      .sort((a, b) => a.n - b.n);
    if (
      rendered.length !== pages ||
      rendered.some((x, i) => x.n !== i + 1 || !isPng(path.join(scratch, x.f)))
    )
      throw new DeckError('CORRUPT', `${rendered.length} of ${pages} pages could be rendered`);
    for (const x of rendered) fs.renameSync(path.join(scratch, x.f), path.join(scratch, `${x.n}.png`));
    fs.renameSync(scratch, outDir);
    onProgress?.(pages, pages);
    return { pages, files: rendered.map((x) => path.join(outDir, `${x.n}.png`)) };
  } catch (e) {
    fs.rmSync(scratch, { recursive: true, force: true });
    if (e instanceof DeckError) throw e;
    throw new DeckError('FAILED', `converting failed: ${(e as Error).message}`);
  } finally {
    clearInterval(poll);
  }
}
