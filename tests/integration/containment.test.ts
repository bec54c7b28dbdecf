/**
 * Errors after a commit are contained: when bringing media in line with a stored change fails
 * (a bug in reconcile), the command is still acknowledged as done, the state still reaches every
 * participant, the failure is logged, and media is brought in line by a retry.
 */
import { setLogSink } from '../../server/src/logger';
import { type Participant, participant, seen } from '../helpers/conferenceClient';
import { type TestServer, startTestServer } from '../helpers/testServer';
import { waitFor } from '../helpers/waitFor';

let server: TestServer;
const open: Participant[] = [];
const logged: string[] = [];
let restore: (line: string) => void;

beforeAll(async () => {
  server = await startTestServer();
  restore = setLogSink((l) => logged.push(l));
});

afterAll(async () => {
  setLogSink(restore);
  for (const p of open) p.close();
  await server.stop();
});

it('a reconcile that throws: the grant is acknowledged, reaches everyone, and the microphone goes live on the retry', async () => {
  const join = async (who: string) => {
    const p = await participant(server, who);
    open.push(p);
    return p;
  };
  const chair = await join('chair');
  const hn = await join('ha-noi');
  const hue = await join('thua-thien-hue');
  await hn.publishMic();
  await chair.must('conference:open');
  await chair.must('conference:start');
  await hn.must('floor:request', { title: 'Tham luận' });
  const queued = await seen(hue, 'the request', (s) => s.queue.length === 1);
  const liveMics = () => server.app.media().stats().liveMicrophones;
  expect(liveMics()).toEqual([]);

  const media = server.app.media();
  const enforce = jest.spyOn(media, 'enforce').mockImplementationOnce(() => {
    throw new Error('a bug in reconcile');
  });
  const ack = await chair.send('floor:grant', { requestId: queued.queue[0]?.id });
  expect(ack).toEqual({ ok: true, data: null });
  await seen(hue, 'Hà Nội on air', (s) => s.onAir?.siteCode === 'ha-noi');
  await seen(hn, 'itself on air', (s) => s.onAir?.siteCode === 'ha-noi');
  expect(logged.join('\n')).toMatch(/media reconcile failed; retrying.*a bug in reconcile/);
  await waitFor(
    'the retry to resume the on-air microphone',
    () => liveMics().includes('ha-noi') || undefined,
    {
      timeoutMs: 3000,
      missing: liveMics,
    },
  );
  // The pass that threw was the grant's own, and a later pass brought the media in line.
  expect(enforce.mock.calls[0]?.[0].onAir?.siteCode).toBe('ha-noi');
  expect(enforce.mock.results[0]?.type).toBe('throw');
  expect(enforce.mock.calls.length).toBeGreaterThanOrEqual(2);
  enforce.mockRestore();
  expect(server.app.service.state.onAir?.siteCode).toBe('ha-noi');
});
