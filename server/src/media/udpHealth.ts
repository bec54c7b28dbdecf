/**
 * The kernel side of the media sockets. Each mediasoup worker receives every hall's media on one
 * UDP socket (its WebRtcServer). mediasoup 3.12 does not size that socket's receive buffer, so it
 * gets the host's `net.core.rmem_default` (212,992 bytes on a stock Debian: about 11 ms of 63 halls'
 * media). When it overflows the kernel drops datagrams and only /proc/net/udp knows: here we read
 * those counters, check the buffer size at start-up, and say the exact command that fixes it.
 * The pipes between workers (pipeToRouter: one UDP socket per worker pair on loopback) get the
 * same default buffer, so their counters are read too: every UDP socket a worker process owns.
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
  /** The socket's inode (to find the sockets a process owns through /proc/PID/fd). */
  inode: number;
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
    const inode = Number(f[9]);
    if (Number.isFinite(port) && Number.isFinite(drops))
      out.push({
        port,
        inode: Number.isFinite(inode) ? inode : 0,
        rxQueue: Number.isFinite(rxQueue) ? rxQueue : 0,
        drops,
      });
  }
  return out;
}

/** Every UDP socket of the host, IPv4 and IPv6 (the load benchmark reads its receivers' drops here too). */
export function allUdpSockets(read: ReadFile = readText): UdpSocketStats[] {
  const all: UdpSocketStats[] = [];
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    try {
      all.push(...parseProcNetUdp(read(file)));
    } catch {
      // No IPv6, or no /proc: those sockets are simply not counted.
    }
  }
  return all;
}

/** The inodes of the sockets a process holds open (null when /proc cannot say). */
export function processSocketInodes(pid: number): Set<number> | null {
  try {
    const out = new Set<number>();
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) out.add(Number(m[1]));
      } catch {
        // closed while we looked
      }
    }
    return out;
  } catch {
    return null;
  }
}

export interface WorkerSocketHealth {
  worker: number;
  pid: number;
  /** Its WebRtcServer socket: every hall's media to this worker arrives here. */
  port: number;
  rxQueue: number;
  drops: number;
  /** Its other UDP sockets: the pipes to and from the other workers. */
  pipes: { sockets: number; rxQueue: number; drops: number };
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
  readonly #inodes: (pid: number) => Set<number> | null;
  readonly #warn: (msg: string, fields: Record<string, unknown>) => void;
  /**
   * Each socket's drop counter when first seen, by inode (the kernel counts from the socket's
   * opening): sockets open at the first sample count from then, sockets opened later from zero.
   */
  readonly #base = new Map<number, number>();
  readonly #last = new Map<number, number>();
  #sampled = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: {
    workers: () => { index: number; pid: number; udpPort: number }[];
    warn: (msg: string, fields: Record<string, unknown>) => void;
    read?: ReadFile;
    /** The socket inodes a process owns (default: /proc/PID/fd). */
    socketInodes?: (pid: number) => Set<number> | null;
  }) {
    this.#workers = opts.workers;
    this.#warn = opts.warn;
    this.#read = opts.read ?? readText;
    this.#inodes = opts.socketInodes ?? processSocketInodes;
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
    const all = allUdpSockets(this.#read);
    const first = !this.#sampled;
    this.#sampled = true;
    let dropsSinceStart = 0;
    const since = (s: UdpSocketStats) => {
      if (!this.#base.has(s.inode)) this.#base.set(s.inode, first ? s.drops : 0);
      return s.drops - (this.#base.get(s.inode) ?? 0);
    };
    const grew = (s: UdpSocketStats) => {
      const last = this.#last.get(s.inode) ?? this.#base.get(s.inode) ?? s.drops;
      this.#last.set(s.inode, s.drops);
      return s.drops - last;
    };
    const sockets = workers.map((w): WorkerSocketHealth => {
      const owned = this.#inodes(w.pid);
      const main = all.filter((s) => s.port === w.udpPort);
      const pipes = owned ? all.filter((s) => owned.has(s.inode) && s.port !== w.udpPort) : [];
      const sum = (list: UdpSocketStats[], f: (s: UdpSocketStats) => number) =>
        list.reduce((n, s) => n + f(s), 0);
      const health: WorkerSocketHealth = {
        worker: w.index,
        pid: w.pid,
        port: w.udpPort,
        rxQueue: sum(main, (s) => s.rxQueue),
        drops: sum(main, (s) => s.drops),
        pipes: {
          sockets: pipes.length,
          rxQueue: sum(pipes, (s) => s.rxQueue),
          drops: sum(pipes, (s) => s.drops),
        },
      };
      dropsSinceStart += sum(main, since) + sum(pipes, since);
      if (!quiet) {
        const dropped = sum(main, grew);
        const pipeDropped = sum(pipes, grew);
        if (dropped + pipeDropped > 0)
          this.#warn('the kernel dropped media datagrams at a worker socket (receive buffer full)', {
            worker: w.index,
            port: w.udpPort,
            dropped,
            ...(pipeDropped ? { droppedOnPipes: pipeDropped } : {}),
            fix: receiveBuffer.command ?? 'raise net.core.rmem_default',
          });
      }
      return health;
    });
    return { receiveBuffer, sockets, dropsSinceStart };
  }
}
