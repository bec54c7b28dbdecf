/** Capture sizes and simulcast layers, shared by the media engine and the hall's device check. */
import type { types as ms } from 'mediasoup-client';

export type Quality = 'normal' | 'low';

export interface QualityProfile {
  /** What the camera is asked for (ideals: a camera that cannot is still used, at what it gives). */
  capture: { width: number; height: number; frameRate: number };
  /** VP8 simulcast layers, lowest first. */
  encodings: ms.RtpEncodingParameters[];
}

/**
 * VP8 simulcast: the wall's and chair's tiles take the lowest layer, the programme the highest.
 * Chromium gives a capture only as many layers as its size allows (1280×720 and up: 3,
 * 640×360: 2, 320×180: 1; it silently drops the top ones), so the capture must be the size of
 * the top layer. The lowest layer is 320×180 in both profiles, so tiles look the same.
 *
 * - normal (1280×720 at 25 fps): 320×180 at 150 kbit/s, 640×360 at 500 kbit/s, 1280×720 at
 *   1,200 kbit/s (a seated speaker, little motion) — 1,850 kbit/s of video up, ~1.9 Mbit/s with
 *   the 32 kbit/s of Opus.
 * - low (`?q=low`, a hall on a weak link; 640×360 at 15 fps): 320×180 at 100 kbit/s and
 *   640×360 at 400 kbit/s — 500 kbit/s of video up, ~0.53 Mbit/s with Opus. On air it is seen at
 *   640×360.
 *
 * These are ceilings: Chromium sends less when its bandwidth estimate is lower, dropping the top
 * layer first. See "Bandwidth budget" in the README.
 */
export const QUALITY: Record<Quality, QualityProfile> = {
  normal: {
    capture: { width: 1280, height: 720, frameRate: 25 },
    encodings: [
      { rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 150_000, maxFramerate: 25 },
      { rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 500_000, maxFramerate: 25 },
      { rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: 1_200_000, maxFramerate: 25 },
    ],
  },
  low: {
    capture: { width: 640, height: 360, frameRate: 15 },
    encodings: [
      { rid: 'r0', scaleResolutionDownBy: 2, maxBitrate: 100_000, maxFramerate: 15 },
      { rid: 'r1', scaleResolutionDownBy: 1, maxBitrate: 400_000, maxFramerate: 15 },
    ],
  },
};

/** The camera constraints of a profile (the client's own capture and the hall's device check alike). */
export function videoConstraints(quality: Quality = 'normal', deviceId?: string): MediaTrackConstraints {
  const { width, height, frameRate } = QUALITY[quality].capture;
  return {
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    width: { ideal: width },
    height: { ideal: height },
    // Ideal only: a required `max` could refuse a camera outright. The encodings cap the rate.
    frameRate: { ideal: frameRate },
  };
}

/**
 * A shared screen or slide: legibility first. Captured at up to 1920×1080 and 15 fps; two VP8
 * simulcast layers, so a hall on a weak link still gets a readable half-size picture instead of a
 * frozen full one: half size at 5 fps and 300 kbit/s, full size at 10 fps and 1,500 kbit/s. The
 * track's content hint "detail" and the sender's "maintain-resolution" make Chromium drop frames,
 * not sharpness, when bandwidth is short.
 */
export const SCREEN = {
  capture: { width: 1920, height: 1080, frameRate: 15 },
  encodings: [
    { rid: 'r0', scaleResolutionDownBy: 2, maxBitrate: 300_000, maxFramerate: 5 },
    { rid: 'r1', scaleResolutionDownBy: 1, maxBitrate: 1_500_000, maxFramerate: 10 },
  ] satisfies ms.RtpEncodingParameters[],
};
