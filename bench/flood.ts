/**
 * Flood benchmark: what an attacker with one ordinary join link costs the chair. The real server
 * process (node dist/server/src/main.js, default limits) runs alone; the chair sends layout
 * changes one after another and we time each acknowledgement. Rounds alternate: the chair alone,
 * then the chair while 20 sockets on one site's link flood (tests/helpers/linkFlood.ts). The
 * flooding client runs in this process, on the same 2 cores: its CPU is part of what the chair
 * competes with, as it would be on a shared host.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type FloodFigures, chairRoundTrips, floodOneLink } from '../tests/helpers/linkFlood';
import { processToken, startServerProcess } from '../tests/helpers/serverProcess';
import { connect, ok } from '../tests/helpers/wsClient';
import { machine } from './machine';
import { median, percentile, round } from './stats';

/** Commands per phase, one every INTERVAL_MS: 25 a second, half the default per-link rate. */
const PER_ROUND = 100;
const INTERVAL_MS = 40;

export async function benchFlood(rounds: number): Promise<Record<string, unknown>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hoinghi-bench-flood-'));
  const server = await startServerProcess(dir);
  try {
    const chair = await connect(server.url, processToken('chair'));
    await ok(chair, 'session:join', {});
    await ok(chair, 'conference:open', {});
    await chairRoundTrips(chair, 25, INTERVAL_MS); // warm-up
    const alone: number[] = [];
    const flooded: number[] = [];
    const floods: FloodFigures[] = [];
    const sites = ['can-tho', 'lao-cai', 'nghe-an', 'gia-lai', 'quang-ninh', 'ha-giang'];
    for (let r = 0; r < rounds; r++) {
      alone.push(...(await chairRoundTrips(chair, PER_ROUND, INTERVAL_MS)));
      // A fresh link each round, so one round's cut-offs and connection budget do not carry over.
      const flood = await floodOneLink(server.url, processToken(sites[r % sites.length] as string), {
        // A persistent attacker: reconnects at once whenever cut or refused, for the whole round.
        maxReconnectsPerSocket: 100_000,
      });
      flooded.push(...(await chairRoundTrips(chair, PER_ROUND, INTERVAL_MS)));
      floods.push(await flood.stop());
    }
    chair.close();
    const stats = (xs: number[]) => ({
      n: xs.length,
      median_ms: round(median(xs), 2),
      p95_ms: round(percentile(xs, 95), 2),
      p99_ms: round(percentile(xs, 99), 2),
    });
    const a = stats(alone);
    const f = stats(flooded);
    return {
      what: "the chair's command round-trip (layout:set → ack) alone and while 20 sockets on one site's link flood",
      rounds,
      commands_per_round: PER_ROUND,
      command_interval_ms: INTERVAL_MS,
      chair_alone: a,
      chair_during_flood: f,
      ratio_median: round(f.median_ms / a.median_ms, 2),
      ratio_p95: round(f.p95_ms / a.p95_ms, 2),
      median_ms: f.median_ms,
      p90_ms: round(percentile(flooded, 90), 2),
      flood: floods,
      server_exit_code: server.child.exitCode,
      machine: machine(),
    };
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
