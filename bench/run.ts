/**
 * npm run bench -- <name> [--runs N]
 * Writes bench/results/<name>.json and prints the headline figures.
 */
import fs from 'node:fs';
import path from 'node:path';
import { benchConsoles } from './consoles';
import { benchFloor } from './floor';
import { benchFlood } from './flood';
import { benchJoin } from './join';
import { benchLoad } from './load';
import { benchRecording } from './recording';
import { benchRecovery } from './recovery';
import { benchSlides } from './slides';
import { benchWall } from './wall';

const BENCHES: Record<string, { run: (runs: number) => Promise<Record<string, unknown>>; runs: number }> = {
  join: { run: benchJoin, runs: 15 },
  floor: { run: benchFloor, runs: 20 },
  // For the wall, --runs is the number of publishing sites (6 to 8).
  wall: { run: benchWall, runs: 6 },
  // For the flood, --runs is the number of rounds (chair alone, then chair during a flood).
  flood: { run: benchFlood, runs: 5 },
  // The load benchmark takes --sites N, --seconds S and --generators K instead of --runs.
  load: { run: () => benchLoad(), runs: 1 },
  // --runs is the number of page turns.
  slides: { run: benchSlides, runs: 30 },
  // --sites N halls with real media (60 of 63 by default), --pushes P timed state pushes.
  consoles: { run: () => benchConsoles(), runs: 1 },
  // --runs is the number of 10 s blackouts (half as many NAT resets and worker kills, at least 3).
  recovery: { run: benchRecovery, runs: 8 },
  // --runs is the number of 10 s windows per figure (at least 3).
  recording: { run: benchRecording, runs: 5 },
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const names = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  const runsArg = args.indexOf('--runs');
  // Without a name, every benchmark but `load` (minutes long; ask for it by name).
  const selected = names.length ? names : Object.keys(BENCHES).filter((n) => n !== 'load');
  for (const name of selected) {
    const bench = BENCHES[name];
    if (!bench) throw new Error(`unknown benchmark "${name}" (known: ${Object.keys(BENCHES).join(', ')})`);
    const runs = runsArg >= 0 ? Number(args[runsArg + 1]) : bench.runs;
    if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs needs a positive whole number');
    console.log(`bench ${name}: ${runs} runs`);
    const result = await bench.run(runs);
    const dir = path.join(__dirname, '..', '..', 'bench', 'results');
    fs.mkdirSync(dir, { recursive: true });
    // --out NAME writes bench/results/NAME.json instead (a trial run, or a run on another setting).
    const outArg = args.indexOf('--out');
    const file = path.join(dir, `${outArg >= 0 ? args[outArg + 1] : name}.json`);
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    const headline =
      'knee' in result
        ? `knee ${String(result.knee ?? 'not reached')}, headroom ${String(result.headroom ?? '-')}`
        : 'benchmark' in result && result.benchmark === 'slides'
          ? `page turn p50 ${String(result.p50_ms)} ms, p90 ${String(result.p90_ms)} ms, max ${String(result.max_ms)} ms`
          : 'benchmark' in result && result.benchmark === 'recording'
            ? `CPU % of a core: statement ${JSON.stringify(result.statement)}; programme ${JSON.stringify(result.programme)}`
            : 'push_to_paint' in result
              ? `push → paint ${JSON.stringify(result.push_to_paint)}`
              : 'median_ms' in result
                ? `median ${String(result.median_ms)} ms, p90 ${String(result.p90_ms)} ms`
                : `wall ${String(result.wall_inbound_video_kbps)} kbit/s vs ${String(result.if_every_tile_high_kbps)} kbit/s if every tile were high`;
    console.log(`bench ${name}: ${headline} → ${file}`);
  }
}

main().catch((e: unknown) => {
  console.error(`bench failed: ${(e as Error).message}`);
  process.exit(1);
});
