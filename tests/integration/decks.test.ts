/**
 * PDF decks converted by Debian's poppler outside the server's process: pages come out as
 * images of the configured width, in order, with progress; a file that is not a PDF, one over
 * the size or page limits, a corrupt one and one whose rendering overruns its time are each
 * refused with their own code, and nothing partial is left on disk.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ConvertLimits, DeckError, convertPdf } from '../../server/src/decks/convert';
import { makePdf } from '../helpers/pdf';

jest.setTimeout(60_000);

const LIMITS: ConvertLimits = {
  maxBytes: 5 * 1024 * 1024,
  maxPages: 10,
  timeoutMs: 20_000,
  memoryBytes: 1024 * 1024 * 1024,
  widthPx: 800,
};

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-decks-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, data: Buffer | string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, data);
  return f;
}

/** Width and height of a PNG, from its header. */
function pngSize(file: string): { width: number; height: number } {
  const b = fs.readFileSync(file);
  expect(b.subarray(1, 4).toString()).toBe('PNG');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

async function refusal(file: string, limits: Partial<ConvertLimits> = {}): Promise<DeckError> {
  const out = path.join(dir, 'decks', 'd1');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const e = await convertPdf(file, out, { ...LIMITS, ...limits }).then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DeckError);
  // Nothing partial: neither the deck nor a scratch directory beside it.
  expect(fs.readdirSync(path.dirname(out))).toEqual([]);
  return e as DeckError;
}

describe('converting a deck', () => {
  it('renders every page in order at the configured width, reporting progress', async () => {
    const file = write('deck.pdf', makePdf(['Trang 1', 'Trang 2', 'Trang 3']));
    const out = path.join(dir, 'decks', 'd1');
    fs.mkdirSync(path.dirname(out));
    const progress: [number, number][] = [];
    const r = await convertPdf(file, out, LIMITS, (done, total) => progress.push([done, total]));
    expect(r.pages).toBe(3);
    expect(r.files.map((f) => path.basename(f))).toEqual(['1.png', '2.png', '3.png']);
    for (const f of r.files) {
      const { width, height } = pngSize(f);
      expect(width).toBe(800);
      expect(Math.abs(height - (800 * 595) / 842)).toBeLessThanOrEqual(1); // A4 landscape
    }
    expect(progress.at(-1)).toEqual([3, 3]);
    expect(progress.every(([d, t], i) => t === 3 && d >= (progress[i - 1]?.[0] ?? 0))).toBe(true);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['d1']);
  });

  it('refuses a file that is not a PDF', async () => {
    expect((await refusal(write('notes.txt', 'Báo cáo tổng kết\n'.repeat(50)))).code).toBe('NOT_PDF');
    expect((await refusal(write('empty.pdf', ''))).code).toBe('NOT_PDF');
  });

  it('refuses a PDF over the size limit before reading it', async () => {
    const file = write('big.pdf', makePdf(['x']));
    expect((await refusal(file, { maxBytes: 100 })).code).toBe('TOO_LARGE');
  });

  it('refuses a PDF over the page limit', async () => {
    const file = write('long.pdf', makePdf(['1', '2', '3', '4']));
    const e = await refusal(file, { maxPages: 3 });
    expect(e.code).toBe('TOO_MANY_PAGES');
    expect(e.message).toContain('4 pages');
  });

  it('refuses a corrupt PDF', async () => {
    expect((await refusal(write('broken.pdf', `%PDF-1.7\n${'garbage '.repeat(200)}`))).code).toBe('CORRUPT');
    // A real PDF cut in half.
    const whole = makePdf(['Trang 1', 'Trang 2']);
    expect((await refusal(write('cut.pdf', whole.subarray(0, whole.length / 3)))).code).toBe('CORRUPT');
  });

  it('refuses pages too large to render within the memory limit (poppler says so and exits 0)', async () => {
    const file = write('wide.pdf', makePdf(['Trang 1', 'Trang 2']));
    const e = await refusal(file, { widthPx: 20_000, memoryBytes: 64 * 1024 * 1024 });
    expect(e.code).toBe('TOO_LARGE');
    expect(e.message).toContain('memory');
  });

  it('kills a conversion that overruns its time, and leaves nothing', async () => {
    const file = write('heavy.pdf', makePdf(['1', '2', '3'], { heavyOps: 300_000 }));
    const started = Date.now();
    const e = await refusal(file, { timeoutMs: 1500, widthPx: 4000, maxBytes: 64 * 1024 * 1024 });
    expect(e.code).toBe('TIMEOUT');
    // Killed on time, not waited out, and no converter left running.
    expect(Date.now() - started).toBeLessThan(6000);
    const running = fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(file);
        } catch {
          return false;
        }
      });
    expect(running).toEqual([]);
  });
});
