/**
 * npm run bench -- recovery [--runs N]
 *
 * How fast the conference recovers from the faults the control room fears, with real Chromium
 * halls and real media through the user-space fault relay (tests/helpers/faultRig.ts):
 *
 * - lost detection: hall A on air is blacked out (nothing passes either way); from the cut to
 *   the server marking it lost (config health.lostAfterSec, 10 s by default);
 * - reconnect after a 10 s blackout: from the line coming back to A's audio arriving at hall B
 *   again (the same session: ICE resumes, or restarts);
 * - reconnect after a NAT reset: every connection of A cut and its UDP mapping forgotten; from
 *   the cut to A's audio at B again (a fresh session with the same credential, the place kept);
 * - worker recovery: the central consoles' media worker killed (kill -9); from the kill to the
 *   chair decoding A's video again on a new consumer, without a reload; and the longest gap in
 *   A's audio at B meanwhile, over the kills where A and B were on the other worker (after a
 *   kill the central consoles move to a live worker and stay there: later kills may take the
 *   halls too; those are counted apart).
 *
 * N blackouts (default 8), and N / 2 (at least 3) NAT resets and worker kills. Writes
 * bench/results/recovery.json with every sample, p50 and p90.
 */
import { A, audioFlowing, blackoutOnce, killHubOnce, startFaultRig } from '../tests/helpers/faultRig';
import { waitFor } from '../tests/helpers/waitFor';
import { machine } from './machine';
import { median, percentile, round } from './stats';

const BLACKOUT_MS = 10_000;

const summary = (xs: number[]) => ({
  samples: xs.map((x) => Math.round(x)),
  p50_ms: round(median(xs), 0),
  p90_ms: round(percentile(xs, 90), 0),
  max_ms: round(Math.max(...xs), 0),
});

export async function benchRecovery(runs: number): Promise<Record<string, unknown>> {
  const rig = await startFaultRig();
  try {
    const lost: number[] = [];
    const reconnect: number[] = [];
    const drift: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      const r = await blackoutOnce(rig, BLACKOUT_MS);
      lost.push(r.lostDetectMs);
      reconnect.push(r.reconnectMs);
      drift.push(r.remainingDriftMs);
      console.log(
        `blackout ${i + 1}/${runs}: lost after ${r.lostDetectMs} ms, heard again ${r.reconnectMs} ms after`,
      );
    }
    const few = Math.max(3, Math.floor(runs / 2));
    const rejoin: number[] = [];
    for (let i = 0; i < few; i += 1) {
      await audioFlowing(rig.siteB, A, 'B hears A before the reset');
      const before = rig.server.app.service.minutes().length;
      const cutAt = Date.now();
      rig.relay.cut({ udp: true });
      await waitFor('the server to see A go', () =>
        rig.server.app.service.minutes().length > before ? true : undefined,
      );
      await audioFlowing(rig.siteB, A, 'B hears A after the reset', 30_000);
      rejoin.push(Date.now() - cutAt);
      await waitFor('A back on air', () => (rig.server.app.service.state.away?.[A] ? undefined : true));
      console.log(`NAT reset ${i + 1}/${few}: heard again ${rejoin[rejoin.length - 1]} ms after the cut`);
    }
    const worker: number[] = [];
    const stall: number[] = [];
    const share: number[] = [];
    let sharedKills = 0;
    for (let i = 0; i < few; i += 1) {
      const r = await killHubOnce(rig);
      worker.push(r.recoveryMs);
      if (!r.hallsOnKilledWorker) {
        stall.push(r.longestStallAtBMs);
        share.push(r.audioAtBShare);
      } else sharedKills += 1;
      console.log(`worker kill ${i + 1}/${few}: chair decoding again after ${r.recoveryMs} ms`);
    }
    return {
      benchmark: 'recovery',
      at: new Date().toISOString(),
      machine: machine(),
      config: {
        lostAfterSec: rig.server.config.health.lostAfterSec,
        holdSec: rig.server.config.health.holdSec,
      },
      lost_detection: summary(lost),
      reconnect_after_10s_blackout: summary(reconnect),
      speaker_time_drift_ms: summary(drift.map(Math.abs)),
      reconnect_after_nat_reset: summary(rejoin),
      worker_recovery: summary(worker),
      // Only the kills where A and B were on another worker than the one killed.
      worker_kill_longest_audio_gap_elsewhere: stall.length ? summary(stall) : null,
      // The same kills: A's audio packets B received over the 50/s A sends (1 = none lost).
      worker_kill_audio_share_elsewhere: share.map((x) => round(x, 3)),
      worker_kills_that_also_carried_the_halls: sharedKills,
      median_ms: round(median(reconnect), 0),
      p90_ms: round(percentile(reconnect, 90), 0),
    };
  } finally {
    await rig.close();
  }
}
