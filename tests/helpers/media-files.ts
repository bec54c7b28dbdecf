/** ffmpeg as a hall's AV system, and what ffprobe says of a recorded file. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

export const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
export const FFPROBE = process.env.FFPROBE_PATH ?? 'ffprobe';

export interface Encoder {
  child: ChildProcess;
  /** Stops it by its pid and waits for it to be gone. */
  stop(): Promise<void>;
}

/**
 * Runs the ffmpeg command the ingest API answered (the README's copy-paste command), with a
 * smaller test pattern to spare the 2 cores. Started through `sh -c exec`, so the pid is ffmpeg's.
 */
export function runEncoder(command: string): Encoder {
  const cmd = command
    .replace(/^ffmpeg /, `exec ${FFMPEG} -hide_banner -nostats -loglevel error `)
    .replace('size=1280x720', 'size=640x360');
  const child = spawn('sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => (err = (err + d).slice(-2000)));
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => {
    if (code && code !== 255 && signal === null) process.stderr.write(`encoder ended (${code}): ${err}\n`);
  });
  return {
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid)
        process.kill(child.pid, 'SIGKILL');
      await gone;
    },
  };
}

export interface FileReport {
  durationSec: number;
  streams: { index: number; type: string; codec: string }[];
  /** Per stream: its first packet's time, and the longest gap between two of its packets, s. */
  packets: Record<
    number,
    {
      first: number;
      last: number;
      count: number;
      maxGap: number;
      gapAt: number;
      /** The longest gap after the stream's second packet (the first picture held aside). */
      maxGapAfterFirst: number;
    }
  >;
}

/** Streams, duration and packet timing of a media file, read with ffprobe. */
export function inspect(file: string): FileReport {
  const info = JSON.parse(
    execFileSync(
      FFPROBE,
      [
        '-v',
        'error',
        '-show_entries',
        'format=duration:stream=index,codec_type,codec_name',
        '-of',
        'json',
        file,
      ],
      { encoding: 'utf8' },
    ),
  ) as { format: { duration: string }; streams: { index: number; codec_type: string; codec_name: string }[] };
  const csv = execFileSync(
    FFPROBE,
    ['-v', 'error', '-show_entries', 'packet=stream_index,pts_time', '-of', 'csv=p=0', file],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  const times = new Map<number, number[]>();
  for (const line of csv.split('\n')) {
    const [i, t] = line.split(',');
    const pts = Number(t);
    if (i === undefined || i === '' || !Number.isFinite(pts)) continue;
    const list = times.get(Number(i)) ?? [];
    list.push(pts);
    times.set(Number(i), list);
  }
  const packets: FileReport['packets'] = {};
  for (const [i, list] of times) {
    list.sort((a, b) => a - b);
    let maxGap = 0;
    let gapAt = 0;
    let maxGapAfterFirst = 0;
    for (let k = 1; k < list.length; k++) {
      const gap = (list[k] as number) - (list[k - 1] as number);
      if (gap > maxGap) [maxGap, gapAt] = [gap, list[k - 1] as number];
      if (k > 1) maxGapAfterFirst = Math.max(maxGapAfterFirst, gap);
    }
    packets[i] = {
      first: list[0] as number,
      last: list[list.length - 1] as number,
      count: list.length,
      maxGap,
      gapAt,
      maxGapAfterFirst,
    };
  }
  return {
    durationSec: Number(info.format.duration),
    streams: info.streams.map((s) => ({ index: s.index, type: s.codec_type, codec: s.codec_name })),
    packets,
  };
}
