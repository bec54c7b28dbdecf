/**
 * The kernel side of the media sockets. Each mediasoup worker receives every hall's media on one
 * UDP socket (its WebRtcServer). mediasoup 3.12 does not size that socket's receive buffer, so it
 * gets the host's `net.core.rmem_default` (212,992 bytes on a stock Debian: about 11 ms of 63 halls'
 * media). When it overflows the kernel drops datagrams and only /proc/net/udp knows: here we read
 * those counters, check the buffer size at start-up, and say the exact command that fixes it.
 */
import fs from 'node:fs';

/** The receive buffer asked of the host: 4 MiB held 63 halls' media with no drop in our runs. */
export const RECOMMENDED_RMEM = 4 * 1024 * 1024;

export interface ReceiveBufferCheck {
  rmemDefault: number | null;
  rmemMax: number | null;
  ok: boolean;
  /** The command that raises it (as root), when it is too small. */
  command: string | null;
}

type ReadFile = (file: string) => string;
const readText: ReadFile = (file) => fs.readFileSync(file, 'utf8');

function readNumber(read: ReadFile, file: string): number | null {
  try {
    const n = Number(read(file).trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

export function checkReceiveBuffer(read: ReadFile = readText): ReceiveBufferCheck {
  const rmemDefault = readNumber(read, '/proc/sys/net/core/rmem_default');
  const rmemMax = readNumber(read, '/proc/sys/net/core/rmem_max');
  // Unknown (no /proc, another OS): nothing to say.
  if (rmemDefault === null) return { rmemDefault, rmemMax, ok: true, command: null };
  const ok = rmemDefault >= RECOMMENDED_RMEM;
  const max = Math.max(rmemMax ?? 0, RECOMMENDED_RMEM);
  return {
    rmemDefault,
    rmemMax,
    ok,
    command: ok
      ? null
      : `sysctl -w net.core.rmem_default=${RECOMMENDED_RMEM} net.core.rmem_max=${max}` +
        ' (as root; to keep it across reboots: cp deploy/90-hoinghi.conf /etc/sysctl.d/ && sysctl --system)',
  };
}

export interface UdpSocketStats {
  port: number;
  /** Bytes waiting in the receive queue right now. */
  rxQueue: number;
  /** Datagrams the kernel dropped on this socket since it was opened. */
  drops: number;
}

/**
 * Parses /proc/net/udp or /proc/net/udp6: one line per socket,
 * `sl local_address rem_address st tx_queue:rx_queue tr tm->when retrnsmt uid timeout inode ref pointer drops`,
 * addresses as hex `ADDR:PORT`, queues in hex, drops in decimal.
 */
export function parseProcNetUdp(text: string): UdpSocketStats[] {
  const out: UdpSocketStats[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const port = parseInt((f[1] ?? '').split(':')[1] ?? '', 16);
    const rxQueue = parseInt((f[4] ?? '').split(':')[1] ?? '', 16);
    const drops = Number(f[f.length - 1]);
    if (Number.isFinite(port) && Number.isFinite(drops))
      out.push({ port, rxQueue: Number.isFinite(rxQueue) ? rxQueue : 0, drops });
  }
  return out;
}

/** The counters of the UDP sockets bound to these ports (IPv4 and IPv6 added up per port). */
export function udpSocketStats(ports: number[], read: ReadFile = readText): UdpSocketStats[] {
  const all: UdpSocketStats[] = [];
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    try {
      all.push(...parseProcNetUdp(read(file)));
    } catch {
      // No IPv6, or no /proc: those sockets are simply not counted.
    }
  }
  return ports.map((port) => {
    const mine = all.filter((s) => s.port === port);
    return {
      port,
      rxQueue: mine.reduce((n, s) => n + s.rxQueue, 0),
      drops: mine.reduce((n, s) => n + s.drops, 0),
    };
  });
}

export interface WorkerSocketHealth extends UdpSocketStats {
  worker: number;
  pid: number;
}

export interface MediaSocketHealth {
  receiveBuffer: ReceiveBufferCheck;
  sockets: WorkerSocketHealth[];
  /** Datagrams dropped at the media sockets since the server started. */
  dropsSinceStart: number;
}

/**
 * Watches the media sockets' drop counters and says so in the log when the kernel drops media
 * (with the command that fixes it), instead of halls hearing gaps nobody can explain.
 */
export class UdpMonitor {
  readonly #workers: () => { index: number; pid: number; udpPort: number }[];
  readonly #read: ReadFile;
  readonly #warn: (msg: string, fields: Record<string, unknown>) => void;
  /** Each socket's drop counter when first seen (the kernel counts from the socket's opening). */
  readonly #base = new Map<number, number>();
  readonly #last = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: {
    workers: () => { index: number; pid: number; udpPort: number }[];
    warn: (msg: string, fields: Record<string, unknown>) => void;
    read?: ReadFile;
  }) {
    this.#workers = opts.workers;
    this.#warn = opts.warn;
    this.#read = opts.read ?? readText;
  }

  /** Checks the buffer once (a warning with the command when small), then samples every `everyMs`. */
  start(everyMs = 10_000): ReceiveBufferCheck {
    const check = checkReceiveBuffer(this.#read);
    if (!check.ok)
      this.#warn('the UDP receive buffer is small for a national conference: media may be dropped', {
        rmemDefault: check.rmemDefault,
        recommended: RECOMMENDED_RMEM,
        fix: check.command,
      });
    this.sample();
    this.#timer = setInterval(() => this.sample(), everyMs);
    this.#timer.unref();
    return check;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Reads the counters; warns about drops since the last sample (unless `quiet`, for a reader). */
  sample(quiet = false): MediaSocketHealth {
    const workers = this.#workers();
    const receiveBuffer = checkReceiveBuffer(this.#read);
    const stats = udpSocketStats(
      workers.map((w) => w.udpPort),
      this.#read,
    );
    let dropsSinceStart = 0;
    const sockets = workers.map((w, i) => {
      const s = stats[i] as UdpSocketStats;
      if (!this.#base.has(s.port)) this.#base.set(s.port, s.drops);
      const since = s.drops - (this.#base.get(s.port) ?? 0);
      dropsSinceStart += since;
      if (quiet) return { worker: w.index, pid: w.pid, ...s };
      const last = this.#last.get(s.port) ?? s.drops;
      if (s.drops > last)
        this.#warn('the kernel dropped media datagrams at a worker socket (receive buffer full)', {
          worker: w.index,
          port: s.port,
          dropped: s.drops - last,
          fix: receiveBuffer.command ?? 'raise net.core.rmem_default',
        });
      this.#last.set(s.port, s.drops);
      return { worker: w.index, pid: w.pid, ...s };
    });
    return { receiveBuffer, sockets, dropsSinceStart };
  }
}
