/**
 * RTP ingest for a hall's AV system (a hardware encoder, an AV mixer, ffmpeg, GStreamer, OBS):
 * the hall (with its own link's credential) or an operator opens it and is told where to send
 * the hall's camera and microphone over RTP (or SRTP), with a ready ffmpeg command.
 *
 *   POST   /api/ingest   { site?, video?: "H264" | "VP8", srtp?: boolean }   → 200 IngestAnswer
 *   GET    /api/ingest?site=…                                               → 200 IngestAnswer | 404
 *   DELETE /api/ingest?site=…                                               → 204 | 404
 *   Authorization: Bearer <the hall's credential, or the chair's / an operator's>; a hall's
 *   credential speaks only for its own site (no `site`, or its own), the others name the site.
 *   Errors: 400 BAD_REQUEST, 401, 403 FORBIDDEN, 404 NOT_FOUND, 503 SERVER_BUSY { error: { code, message } }.
 *
 * The streams become the site's camera and microphone under the same rules as a browser's
 * (the microphone is forwarded only while the site is on air; ConferenceMedia.openIngest).
 */
import express from 'express';
import { z } from 'zod';
import { describeIssues } from '../../../protocol/schemas';
import type { SiteInfo } from '../../../protocol/events';
import type { Verified } from '../auth/credentials';
import { createLogger } from '../logger';
import { type IngestInfo, type IngestVideoCodec, MediaRequestError } from '../media/ConferenceMedia';
import { bodyErrors, hallOf, jsonBody, sendError as error } from './hallAuth';

const log = createLogger('ingest');

export interface IngestApiDeps {
  verify: (token: unknown) => Verified;
  sites: SiteInfo[];
  open: (site: SiteInfo, opts: { video: IngestVideoCodec; srtp: boolean }) => Promise<IngestInfo>;
  get: (siteCode: string) => IngestInfo | undefined;
  close: (siteCode: string) => boolean;
}

export interface IngestAnswer extends IngestInfo {
  /** Copy-paste: a test pattern and a tone sent to this ingest (replace the two -i for a real source). */
  ffmpeg: string;
}

const body = z.strictObject({
  site: z
    .string()
    .regex(/^[a-z0-9-]{1,48}$/, 'a site code')
    .optional(),
  video: z.enum(['H264', 'VP8']).default('H264'),
  srtp: z.boolean().default(false),
});

/** The ffmpeg command that sends a test pattern and a 440 Hz tone to an ingest. */
export function ffmpegCommand(
  info: IngestInfo,
  inputs = [
    '-re -f lavfi -i testsrc2=size=1280x720:rate=25',
    '-re -f lavfi -i sine=frequency=440:sample_rate=48000',
  ],
): string {
  const v = info.video;
  const a = info.audio;
  const scheme = info.srtp ? 'srtp' : 'rtp';
  const srtp = info.srtp
    ? `:srtp_out_suite=${info.srtp.cryptoSuite}:srtp_out_params=${info.srtp.keyBase64}`
    : '';
  const videoCodec =
    info.videoCodec === 'H264'
      ? '-c:v libx264 -profile:v baseline -level 3.1 -pix_fmt yuv420p -preset veryfast -tune zerolatency -bf 0 -g 25 -b:v 2000k'
      : '-c:v libvpx -deadline realtime -cpu-used 8 -pix_fmt yuv420p -g 25 -b:v 2000k';
  return [
    'ffmpeg',
    ...inputs,
    `-map 0:v:0 ${videoCodec}`,
    '-map 1:a:0 -c:a libopus -ar 48000 -ac 2 -b:a 128k',
    `-f tee "[select=a:f=rtp:ssrc=${a.ssrc}:payload_type=${a.payloadType}${srtp}]${scheme}://${a.ip}:${a.port}?rtcpport=${a.rtcpPort}&pkt_size=1200|[select=v:f=rtp:ssrc=${v.ssrc}:payload_type=${v.payloadType}${srtp}]${scheme}://${v.ip}:${v.port}?rtcpport=${v.rtcpPort}&pkt_size=1200"`,
  ].join(' ');
}

export function ingestApi(deps: IngestApiDeps): express.Router {
  const router = express.Router();
  router.use(jsonBody);

  const siteOf = (req: express.Request, res: express.Response, named: unknown) =>
    hallOf(deps, req, res, named, 'ingest');

  router.post('/', (req, res) => {
    const parsed = body.safeParse(req.body ?? {});
    if (!parsed.success) return void error(res, 400, 'BAD_REQUEST', describeIssues(parsed.error));
    const site = siteOf(req, res, parsed.data.site);
    if (!site) return;
    deps
      .open(site, { video: parsed.data.video, srtp: parsed.data.srtp })
      .then((info) => {
        log.info('ingest opened', { site: site.code, video: info.videoCodec, srtp: Boolean(info.srtp) });
        res.json({ ...info, ffmpeg: ffmpegCommand(info) } satisfies IngestAnswer);
      })
      .catch((e: unknown) => {
        if (e instanceof MediaRequestError) {
          // not-found: a second open for the same hall replaced this one while it was made.
          const [status, code] =
            e.kind === 'unavailable'
              ? [503, 'SERVER_BUSY']
              : e.kind === 'not-found'
                ? [409, 'WRONG_STATE']
                : [400, 'BAD_REQUEST'];
          return void error(res, status, code, e.message);
        }
        log.error('opening an ingest failed', { site: site.code, error: e });
        error(res, 500, 'INTERNAL', 'internal error');
      });
  });

  router.get('/', (req, res) => {
    const site = siteOf(req, res, req.query.site);
    if (!site) return;
    const info = deps.get(site.code);
    if (!info) return void error(res, 404, 'NOT_FOUND', 'no ingest is open for this site');
    res.json({ ...info, ffmpeg: ffmpegCommand(info) } satisfies IngestAnswer);
  });

  router.delete('/', (req, res) => {
    const site = siteOf(req, res, req.query.site);
    if (!site) return;
    if (!deps.close(site.code)) return void error(res, 404, 'NOT_FOUND', 'no ingest is open for this site');
    res.status(204).end();
  });

  router.use(bodyErrors);
  return router;
}
