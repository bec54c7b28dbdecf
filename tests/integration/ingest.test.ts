/**
 * The RTP ingest API under racing duplicates: several opens for one hall at once leave exactly
 * one ingest (the site's camera and microphone once), whatever order the worker answers in, and
 * nothing of the others behind.
 */
import type { IngestAnswer } from '../../server/src/http/ingestApi';
import { type TestServer, startTestServer } from '../helpers/testServer';

const A = 'ha-noi';
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const open = (video: 'H264' | 'VP8') =>
  fetch(`${server.url}/api/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token(A)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ video }),
  });

it('ten opens at once for one hall leave one ingest, two producers, and every answer either it or refused', async () => {
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => open(i % 2 ? 'VP8' : 'H264')));
  const ok = answers.filter((r) => r.status === 200);
  expect(ok.length).toBeGreaterThanOrEqual(1);
  // The others were replaced while being made: a clear 409, not a server error.
  for (const r of answers.filter((x) => x.status !== 200)) {
    expect(r.status).toBe(409);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('WRONG_STATE');
  }
  const bodies = (await Promise.all(ok.map((r) => r.json()))) as IngestAnswer[];
  const current = server.app.media().ingest(A);
  expect(current).toBeDefined();
  expect(bodies.some((b) => b.video.port === current?.video.port)).toBe(true);
  // The site's camera and microphone, once: nothing of the replaced opens is left.
  expect(server.app.media().stats().producers).toBe(2);
  expect(server.app.media().siteMedia(A)).toMatchObject({ camera: true, microphone: true });
  const res = await fetch(`${server.url}/api/ingest`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${server.token(A)}` },
  });
  expect(res.status).toBe(204);
  expect(server.app.media().stats().producers).toBe(0);
  expect(server.app.signaling.sessions.siteConnected(A)).toBe(false);
});
