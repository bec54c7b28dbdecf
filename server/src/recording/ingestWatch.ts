/**
 * An RTP ingest whose AV system stopped sending (an encoder that crashed, a cable, a router that
 * changed the sender's port, which comedia does not follow) leaves its hall present but silent:
 * the operators are told, once, until it sends again.
 */
import type { ConferenceMedia } from '../media/ConferenceMedia';
import type { Recordings } from './Recordings';

const CHECK_MS = 2000;

export function watchIngests(
  media: () => ConferenceMedia,
  recordings: Recordings,
  silentAfterMs: number,
  now: () => number = Date.now,
): () => void {
  const seen = new Map<string, { bytes: number; at: number; reported: boolean }>();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    const sites = media().ingestSites();
    for (const code of seen.keys()) if (!sites.includes(code)) seen.delete(code);
    void Promise.all(
      sites.map(async (code) => {
        const bytes = (await media().ingestBytes(code)) ?? 0;
        const t = now();
        const s = seen.get(code);
        if (!s || bytes !== s.bytes) {
          seen.set(code, { bytes, at: t, reported: false });
          return;
        }
        if (!s.reported && t - s.at >= silentAfterMs) {
          s.reported = true;
          recordings.problem(
            'ingest',
            code,
            `no RTP from the AV system of ${code} for ${Math.round((t - s.at) / 1000)} s (its encoder stopped, or its address changed: open the ingest again)`,
          );
        }
      }),
    ).finally(() => {
      busy = false;
    });
  }, CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
