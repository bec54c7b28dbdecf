/**
 * A site's connection health, as the control room sees it: figures from both ends (the SFU's
 * own statistics of the site's streams, and the site's browser's getStats() report), a level
 * in words (good / degraded / poor / lost) by thresholds in the config, and the reasons.
 * Sampled every few seconds; the server keeps the last hour per site (and a summary in the
 * store), so a site's history outlives its disconnection and a restart.
 */

export type HealthLevel = 'good' | 'degraded' | 'poor' | 'lost';

/** Why a site is not good: each names the figure or the signal that crossed its threshold. */
export type HealthReason =
  | 'loss' // packets lost, upstream or downstream
  | 'rtt' // round trip time
  | 'jitter'
  | 'score' // mediasoup's stream score (0–10)
  | 'bitrate' // sending far below what its camera should
  | 'freeze' // the site's decoder froze (client report)
  | 'silent' // no RTP/RTCP from the site for a while
  | 'heartbeat' // no signalling from the site for a while
  | 'disconnected'; // no session

/** One sample of a site. Figures are null when not measured in that interval. */
export interface HealthSample {
  /** Server time, ms. */
  t: number;
  level: HealthLevel;
  reasons: HealthReason[];
  /** Site → server, kbit/s (all its producers), and server → site (all its consumers). */
  upKbps: number | null;
  downKbps: number | null;
  /** Worst packet loss, %, of the site's streams upstream (what reaches us) and downstream (what it reports). */
  lossPct: number | null;
  /** Round trip time, ms (RTCP). */
  rttMs: number | null;
  jitterMs: number | null;
  /** Lowest mediasoup score of its producers, 0–10. */
  score: number | null;
  /** NACKs and PLIs the SFU counted on its streams in the interval. */
  nacks: number | null;
  plis: number | null;
  /** From the site's browser: frames per second of its programme, freezes counted, its microphone level (0–1). */
  fps: number | null;
  freezes: number | null;
  audioLevel: number | null;
}

/** A site's health now. */
export interface SiteHealth {
  code: string;
  level: HealthLevel;
  /** Since when (server time, ms) it has been at this level. */
  since: number;
  /** The newest sample, null before the first. */
  last: HealthSample | null;
}

/** What a site's browser reports every few seconds (bounded numbers; the server validates them). */
export interface ClientStatsReport {
  /** kbit/s it sends and receives. */
  sendKbps: number;
  recvKbps: number;
  /** Frames per second it decodes (its programme), and freezes since the last report. */
  fps: number;
  freezes: number;
  /** Its microphone's level, 0–1. */
  audioLevel: number;
  /** Round trip time its browser measures to the server, ms (candidate pair). */
  rttMs?: number;
}
