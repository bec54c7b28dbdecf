/**
 * Decks through the real server: a PDF uploaded over HTTP is converted in the background with
 * progress, joins the conference state, and its pages are served as cacheable images; the
 * chair shows it and turns its pages, and the rules hold (only the presentation holder or the
 * chair; within the deck; the token moving takes the deck off the screens). Refusals: no
 * credential, another content type, a body over the size limit, a file that is not a PDF.
 */
import http from 'node:http';
import type { ConferenceState } from '../../protocol/conference';
import { type Participant, participant, seen } from '../helpers/conferenceClient';
import { makePdf } from '../helpers/pdf';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(60_000);

const OVERRIDES = {
  decks: { maxMb: 1, maxPages: 20, convertTimeoutSec: 30, convertMemoryMb: 1024, pageWidth: 640 },
};
let server: TestServer;
let chair: Participant;
let hall: Participant;

beforeAll(async () => {
  server = await startTestServer(OVERRIDES);
  chair = await participant(server, 'chair');
  hall = await participant(server, 'ha-noi');
  await chair.must('conference:open');
});
afterAll(async () => {
  chair?.close();
  hall?.close();
  await server?.stop();
});

async function upload(
  body: Buffer | string,
  opts: { token?: string | null; type?: string; title?: string } = {},
) {
  const headers: Record<string, string> = { 'content-type': opts.type ?? 'application/pdf' };
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? server.token('operator')}`;
  return fetch(`${server.url}/api/decks?title=${encodeURIComponent(opts.title ?? 'Báo cáo')}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
}

async function finished(id: string): Promise<Record<string, unknown>> {
  return waitFor('the conversion to finish', async () => {
    const res = await fetch(`${server.url}/api/decks/${id}`, {
      headers: { authorization: `Bearer ${server.token('operator')}` },
    });
    const job = (await res.json()) as Record<string, unknown>;
    return job.status === 'converting' ? undefined : job;
  });
}

describe('uploading a deck', () => {
  let deckId = '';

  it('converts a PDF in the background; the deck joins the state; its pages are cacheable images', async () => {
    const res = await upload(makePdf(['Trang 1', 'Trang 2', 'Trang 3']), { title: 'Báo cáo tổng kết' });
    expect(res.status).toBe(202);
    deckId = ((await res.json()) as { id: string }).id;
    expect(deckId).toMatch(/^[0-9a-f]{32}$/);
    await expect(finished(deckId)).resolves.toEqual({ status: 'ready', pages: 3 });
    const state = await seen(chair, 'the state', (s: ConferenceState) =>
      (s.decks ?? []).some((d) => d.id === deckId),
    );
    expect(state.decks?.find((d) => d.id === deckId)).toMatchObject({
      title: 'Báo cáo tổng kết',
      pages: 3,
      uploadedBy: 'operator',
    });
    const page = await fetch(`${server.url}/decks/${deckId}/2.png`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('image/png');
    expect(page.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const png = Buffer.from(await page.arrayBuffer());
    expect(png.readUInt32BE(16)).toBe(640);
    expect((await fetch(`${server.url}/decks/${deckId}/4.png`)).status).toBe(404);
    expect((await fetch(`${server.url}/decks/${'0'.repeat(32)}/1.png`)).status).toBe(404);
    expect((await fetch(`${server.url}/decks/..%2f..%2fsecret/1.png`)).status).toBe(404);
  });

  it('the chair shows it and turns its pages; a hall without the token may not; the token moving takes it off', async () => {
    await chair.must('slide:show', { deckId });
    expect((await seen(chair, 'the state', (s: ConferenceState) => s.slide?.page === 1)).slide).toEqual({
      deckId,
      page: 1,
    });
    await chair.must('slide:page', { page: 3 });
    await seen(hall, 'the state', (s: ConferenceState) => s.slide?.page === 3);
    await expect(chair.send('slide:page', { page: 4 })).resolves.toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST' },
    });
    await expect(hall.send('slide:page', { page: 1 })).resolves.toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    await expect(chair.send('slide:show', { deckId: 'f'.repeat(32) })).resolves.toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    // The hall, given the token, turns the pages itself.
    await chair.must('presentation:give', { to: { kind: 'site', code: 'ha-noi' } });
    await seen(hall, 'the state', (s: ConferenceState) => s.slide === null);
    await hall.must('slide:show', { deckId, page: 2 });
    await seen(chair, 'the state', (s: ConferenceState) => s.slide?.page === 2);
    await hall.must('slide:close');
    await seen(chair, 'the state', (s: ConferenceState) => s.slide === null);
  });

  it('refuses an upload without a credential, of another type, or over the size limit', async () => {
    const pdf = makePdf(['x']);
    expect((await upload(pdf, { token: null })).status).toBe(401);
    expect((await upload('<html></html>', { type: 'text/html' })).status).toBe(415);
    const big = Buffer.concat([pdf, Buffer.alloc(2 * 1024 * 1024, 0x20)]);
    const res = await upload(big);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('TOO_LARGE');
  });

  it('uploads still coming count against the per-person limit: a fourth in parallel is refused, then allowed', async () => {
    // Three uploads left open half-way (as three tabs or sockets would): none is on disk yet.
    const { hostname, port } = new URL(server.url);
    const open = Array.from({ length: 3 }, () => {
      const r = http.request({
        hostname,
        port,
        method: 'POST',
        path: '/api/decks?title=x',
        headers: {
          authorization: `Bearer ${server.token('operator')}`,
          'content-type': 'application/pdf',
          'content-length': '500000',
        },
      });
      r.on('error', () => undefined);
      r.write(makePdf(['x']));
      return r;
    });
    // A probe that never becomes an upload: it declares more than the size limit, so the server
    // answers 413 at once, unless the person's slots are all taken, which it checks first (429).
    const probe = () =>
      new Promise<number>((resolve, reject) => {
        const r = http.request(
          {
            hostname,
            port,
            method: 'POST',
            path: '/api/decks?title=probe',
            headers: {
              authorization: `Bearer ${server.token('operator')}`,
              'content-type': 'application/pdf',
              'content-length': String(2 * 1024 * 1024),
            },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        r.on('error', reject);
        r.flushHeaders();
      });
    try {
      await waitFor('the three uploads to take their places', async () =>
        (await probe()) === 429 ? true : undefined,
      );
      const fourth = await upload(makePdf(['fourth']));
      expect(fourth.status).toBe(429);
      expect(((await fourth.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    } finally {
      for (const r of open) r.destroy();
    }
    // Cut off, they give their places back: nothing of them is converted or kept.
    await waitFor('the slots freed', async () => ((await probe()) === 413 ? true : undefined));
  });

  it('a file that is not a PDF is refused after upload with its code, and nothing joins the state', async () => {
    const before = (chair.state().decks ?? []).length;
    const res = await upload('Báo cáo, không phải PDF\n'.repeat(40));
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await expect(finished(id)).resolves.toMatchObject({ status: 'failed', code: 'NOT_PDF' });
    expect((chair.state().decks ?? []).length).toBe(before);
    expect((await fetch(`${server.url}/decks/${id}/1.png`)).status).toBe(404);
  });

  it('decks, the page shown and their minutes survive a restart; pages are served again', async () => {
    await chair.must('slide:show', { deckId, page: 3 });
    await seen(chair, 'the page shown', (s: ConferenceState) => s.slide?.page === 3);
    chair.close();
    hall.close();
    await server.app.stop();
    server = await startTestServer(OVERRIDES, { dataDir: server.dataDir });
    chair = await participant(server, 'chair');
    hall = await participant(server, 'ha-noi');
    const state = chair.state();
    expect(state.decks?.map((d) => d.id)).toContain(deckId);
    expect(state.slide).toEqual({ deckId, page: 3 });
    expect((await fetch(`${server.url}/decks/${deckId}/3.png`)).status).toBe(200);
    const res = await fetch(`${server.url}/api/minutes.json`, {
      headers: { authorization: `Bearer ${server.token('operator')}` },
    });
    const { minutes } = (await res.json()) as { minutes: { type: string; data: Record<string, unknown> }[] };
    expect(minutes.filter((m) => m.type === 'deck.added').map((m) => m.data.deck)).toContain(deckId);
    expect(minutes.filter((m) => m.type === 'slide.shown').map((m) => m.data.page)).toEqual([1, 3, 2, 3]);
  });
});
