/**
 * RTP out for a hall's AV system (its mixer, a projector's decoder, VLC, ffplay): the programme
 * composite (what every hall sees and hears) sent over RTP, VP8 video and Opus audio copied as the
 * composite makes them (one composite for everyone, nothing transcoded per hall), so the hall needs
 * no browser on its projector PC. The hall (with its own link's credential) or an operator says
 * where its receiver listens and is answered the SDP file that receiver opens.
 *
 *   POST   /api/rtp-out   { site?, ip, videoPort, audioPort }   → 200 RtpOutAnswer (replaces the hall's)
 *   GET    /api/rtp-out?site=…                                   → 200 RtpOutAnswer | 404
 *   DELETE /api/rtp-out?site=…                                   → 204 | 404
 *   Authorization: Bearer <the hall's credential, or the chair's / co-chair's / an operator's>; a
 *   hall's credential speaks only for its own site (no `site`, or its own), the others name the site.
 *   Errors: 400 BAD_REQUEST, 401, 403 FORBIDDEN, 404 NOT_FOUND, 503 SERVER_BUSY { error: { code, message } }.
 *
 * `ip` is the receiver's unicast IPv4 address, `videoPort` and `audioPort` even UDP ports
 * (1024–65534) it receives RTP on; RTCP goes to each port + 1. One output per hall.
 */
import express from 'express';
import { z } from 'zod';
import { describeIssues } from '../../../protocol/schemas';
import type { SiteInfo } from '../../../protocol/events';
import type { Verified } from '../auth/credentials';
import { createLogger } from '../logger';
import { type RtpOutputStatus, type RtpOutputTarget, rtpOutputSdp } from '../recording/ProgrammeRecorder';
import { bodyErrors, hallOf, jsonBody, sendError as error } from './hallAuth';

const log = createLogger('rtp-out');

export interface RtpOutApiDeps {
  verify: (token: unknown) => Verified;
  sites: SiteInfo[];
  /** Null when the programme composite is turned off on this server (config recording.programme). */
  set: (target: RtpOutputTarget) => RtpOutputStatus | null;
  get: (siteCode: string) => RtpOutputStatus | undefined;
  remove: (siteCode: string) => boolean;
}

export interface RtpOutAnswer {
  siteCode: string;
  ip: string;
  videoPort: number;
  audioPort: number;
  /** The SDP file the hall's receiver opens (VP8/90000 on videoPort, opus/48000/2 on audioPort). */
  sdp: string;
  /** Its ffmpeg is sending now (false while the composite starts, or when it failed). */
  active: boolean;
  state: RtpOutputStatus['state'];
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

const port = z
  .number({ error: 'a UDP port number' })
  .int('a whole number')
  .min(1024, '1024–65534')
  .max(65534, '1024–65534')
  .refine((p) => p % 2 === 0, 'an even port (RTCP takes the next one)');

const body = z
  .strictObject({
    site: z
      .string()
      .regex(/^[a-z0-9-]{1,48}$/, 'a site code')
      .optional(),
    ip: z
      .string()
      .regex(IPV4, 'an IPv4 address such as 203.0.113.7')
      .refine((ip) => {
        const first = Number(ip.split('.')[0]);
        return first !== 0 && first < 224;
      }, 'a unicast address (not 0.x.x.x, multicast or broadcast)'),
    videoPort: port,
    audioPort: port,
  })
  .refine((b) => b.videoPort !== b.audioPort, {
    message: 'differs from videoPort',
    path: ['audioPort'],
  });

const answer = (o: RtpOutputStatus): RtpOutAnswer => ({
  siteCode: o.siteCode,
  ip: o.ip,
  videoPort: o.videoPort,
  audioPort: o.audioPort,
  sdp: rtpOutputSdp(o),
  active: o.state === 'up',
  state: o.state,
});

export function rtpOutApi(deps: RtpOutApiDeps): express.Router {
  const router = express.Router();
  router.use(jsonBody);

  const siteOf = (req: express.Request, res: express.Response, named: unknown) =>
    hallOf(deps, req, res, named, 'RTP output');

  router.post('/', (req, res) => {
    // The credential first: nothing about the body is told to a request without one.
    const site = siteOf(req, res, (req.body as { site?: unknown } | undefined)?.site);
    if (!site) return;
    const parsed = body.safeParse(req.body ?? {});
    if (!parsed.success) return void error(res, 400, 'BAD_REQUEST', describeIssues(parsed.error));
    const { ip, videoPort, audioPort } = parsed.data;
    const o = deps.set({ siteCode: site.code, ip, videoPort, audioPort });
    if (!o)
      return void error(
        res,
        503,
        'SERVER_BUSY',
        'this server does not make the programme composite (recording.programme is off)',
      );
    log.info('RTP output set', { site: site.code, ip, videoPort, audioPort });
    res.json(answer(o));
  });

  router.get('/', (req, res) => {
    const site = siteOf(req, res, req.query.site);
    if (!site) return;
    const o = deps.get(site.code);
    if (!o) return void error(res, 404, 'NOT_FOUND', 'no RTP output is registered for this site');
    res.json(answer(o));
  });

  router.delete('/', (req, res) => {
    const site = siteOf(req, res, req.query.site);
    if (!site) return;
    if (!deps.remove(site.code))
      return void error(res, 404, 'NOT_FOUND', 'no RTP output is registered for this site');
    log.info('RTP output removed', { site: site.code });
    res.status(204).end();
  });

  router.use(bodyErrors);
  return router;
}
