/**
 * A fault-injection relay that tests and benchmarks put between a browser and the server, in user
 * space. This machine's kernel has no netem and no netfilter (see the shared platform notes), so
 * `tc qdisc … netem` and iptables cannot delay, drop or black out traffic: this relay replaces them.
 *
 * - UDP (`udp()`): WebRTC ICE/DTLS/SRTP to a mediasoup WebRtcTransport or WebRtcServer (ICE-lite).
 *   The server announces the relay's address as its ICE candidate instead of its own. Each client
 *   address:port gets an upstream socket of its own, so the server sees one source per client, as
 *   behind a NAT. Forwarding is byte-for-byte. mediasoup 3.12 can announce another IP but not
 *   another port, so give the relay another loopback address and the server's own port:
 *   `new FaultRelay({ host: '127.0.0.2' })`, `relay.udp(rtcPort, '127.0.0.1', rtcPort)` (and
 *   `relay.tcp(…)` likewise for ICE over TCP), server `rtc.announcedAddress` 127.0.0.2.
 * - TCP (`tcp()`): HTTP and socket.io's WebSocket. Each accepted connection is piped to a new
 *   connection to the target.
 *
 * Directions: 'up' is client → target (browser → server), 'down' is target → client.
 * Faults, for both directions or one (`set`, `blackout`):
 * - delayMs ± jitterMs: one-way delay of every datagram and TCP chunk. A flow is a FIFO queue with
 *   release times, so delay never reorders a flow, even with jitter.
 * - loss: share of UDP datagrams dropped, from a PRNG seeded by the constructor's `seed`: the same
 *   seed, settings and traffic drop the same datagrams. TCP is never lossy (it is reliable).
 * - blackout: a pulled cable. UDP datagrams are dropped (also those queued, at their release time);
 *   TCP bytes (and FINs) are held back, not lost, and flow in order once the blackout ends, as TCP
 *   retransmission would deliver them, unless the connection was closed meanwhile (`cut()`, a
 *   reset). New TCP connections are still accepted during a blackout; their bytes are held too.
 * - cut(): a NAT reset: every current TCP connection is reset (RST) on both sides; with
 *   `{ udp: true }` the UDP mappings are forgotten as well (a client's next datagram gets a new
 *   upstream port).
 * A TCP flow holding more than 4 MiB stops reading its source (backpressure) until it drains.
 */
import dgram from 'node:dgram';
import net from 'node:net';

export type Direction = 'up' | 'down';
export type Directions = Direction | 'both';

export interface Faults {
  /** Added one-way delay, ms. */
  delayMs: number;
  /** Uniform spread of the delay, ± ms (never reorders a flow). */
  jitterMs: number;
  /** Share of UDP datagrams dropped, 0..1. */
  loss: number;
}

export interface RelayStats {
  /** Datagrams received by the relay (both directions). */
  udpIn: number;
  /** Datagrams forwarded. */
  udpOut: number;
  /** Datagrams dropped by loss or blackout. */
  udpDropped: number;
  tcpBytesIn: number;
  tcpBytesOut: number;
  /** TCP bytes read but not yet forwarded (delayed or held by a blackout). */
  tcpHeld: number;
}

const HOLD_LIMIT = 4 << 20;
const UDP_BUFFER = 2 << 20;

/** mulberry32: small, fast, good enough for drop decisions. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const dirs = (d: Directions): Direction[] => (d === 'both' ? ['up', 'down'] : [d]);

/** What the relay and its lanes share. */
interface Link {
  faults: Record<Direction, Faults>;
  dark: Record<Direction, boolean>;
  stats: RelayStats;
}

/** One direction of one flow: a FIFO of items, each released at its time (or held while dark). */
class Lane<T> {
  readonly #queue: { item: T; at: number; size: number }[] = [];
  #last = 0;
  #timer: NodeJS.Timeout | undefined;
  bytes = 0;
  readonly rand: () => number;

  constructor(
    private readonly link: Link,
    readonly dir: Direction,
    seed: number,
    /** TCP holds its queue while dark; UDP keeps releasing (and its deliver drops). */
    private readonly holdWhileDark: boolean,
    private readonly deliver: (item: T) => void,
  ) {
    this.rand = prng(seed);
  }

  push(item: T, size: number): void {
    const f = this.link.faults[this.dir];
    const spread = f.jitterMs > 0 ? (this.rand() * 2 - 1) * f.jitterMs : 0;
    this.#last = Math.max(performance.now() + Math.max(0, f.delayMs + spread), this.#last);
    this.#queue.push({ item, at: this.#last, size });
    this.bytes += size;
    this.pump();
  }

  pump(): void {
    while (!this.#timer) {
      const head = this.#queue[0];
      if (!head || (this.holdWhileDark && this.link.dark[this.dir])) return;
      const wait = head.at - performance.now();
      if (wait > 0) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.pump();
        }, Math.ceil(wait));
        return;
      }
      this.#queue.shift();
      this.bytes -= head.size;
      this.deliver(head.item);
    }
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
    this.bytes = 0;
  }
}

interface UdpFlow {
  upstream: dgram.Socket;
  lanes: Lane<Buffer>[];
}

interface TcpConn {
  sockets: [net.Socket, net.Socket];
  lanes: Lane<Buffer | null>[];
}

/** An RST where the platform has it (Node ≥ 18.3), a plain close otherwise or while connecting. */
function reset(s: net.Socket): void {
  if (s.destroyed) return;
  if (typeof s.resetAndDestroy === 'function' && !s.connecting) s.resetAndDestroy();
  else s.destroy();
}

export class FaultRelay {
  readonly #link: Link = {
    faults: { up: { delayMs: 0, jitterMs: 0, loss: 0 }, down: { delayMs: 0, jitterMs: 0, loss: 0 } },
    dark: { up: false, down: false },
    stats: { udpIn: 0, udpOut: 0, udpDropped: 0, tcpBytesIn: 0, tcpBytesOut: 0, tcpHeld: 0 },
  };
  readonly #seed: number;
  readonly #host: string;
  readonly #udp = new Map<string, Promise<number>>();
  readonly #tcp = new Map<string, Promise<number>>();
  readonly #listeners = new Set<dgram.Socket>();
  readonly #flows = new Set<Map<string, UdpFlow>>();
  readonly #servers = new Set<net.Server>();
  readonly #conns = new Set<TcpConn>();
  #flowCount = 0;
  #blackoutTimer: NodeJS.Timeout | undefined;
  #closed = false;

  /** `seed` makes loss and jitter reproducible; `host` is the address the relay listens on. */
  constructor(opts: { seed?: number; host?: string } = {}) {
    this.#seed = opts.seed ?? 1;
    this.#host = opts.host ?? '127.0.0.1';
  }

  /**
   * A UDP port of the relay forwarding to the target: `listenPort`, or one the OS picks (0). The
   * same target again gets the port already open for it.
   */
  udp(targetPort: number, targetHost = '127.0.0.1', listenPort = 0): Promise<number> {
    const key = `${targetHost}:${targetPort}`;
    const open = this.#udp.get(key) ?? this.#openUdp(targetPort, targetHost, listenPort);
    this.#udp.set(key, open);
    return open;
  }

  /** The same for TCP: each connection accepted is piped to a new connection to the target. */
  tcp(targetPort: number, targetHost = '127.0.0.1', listenPort = 0): Promise<number> {
    const key = `${targetHost}:${targetPort}`;
    const open = this.#tcp.get(key) ?? this.#openTcp(targetPort, targetHost, listenPort);
    this.#tcp.set(key, open);
    return open;
  }

  /** Changes the given faults (the others stay) for both directions or one. */
  set(faults: Partial<Faults>, direction: Directions = 'both'): void {
    const { delayMs = 0, jitterMs = 0, loss = 0 } = faults;
    if (!(delayMs >= 0 && jitterMs >= 0 && loss >= 0 && loss <= 1)) {
      throw new RangeError(`bad faults ${JSON.stringify(faults)}`);
    }
    for (const d of dirs(direction)) {
      const f = this.#link.faults[d];
      f.delayMs = faults.delayMs ?? f.delayMs;
      f.jitterMs = faults.jitterMs ?? f.jitterMs;
      f.loss = faults.loss ?? f.loss;
    }
  }

  /** Drops UDP and holds TCP until restore(), or for `ms`; a new blackout replaces the previous timer. */
  blackout(ms?: number, direction: Directions = 'both'): void {
    clearTimeout(this.#blackoutTimer);
    this.#blackoutTimer = ms === undefined ? undefined : setTimeout(() => this.restore(), ms);
    for (const d of dirs(direction)) this.#link.dark[d] = true;
  }

  /** Ends a blackout (both directions): held TCP bytes flow. Faults from set() stay. */
  restore(): void {
    clearTimeout(this.#blackoutTimer);
    this.#blackoutTimer = undefined;
    this.#link.dark.up = false;
    this.#link.dark.down = false;
    for (const c of this.#conns) for (const l of c.lanes) l.pump();
  }

  /** A NAT reset: every current TCP connection is reset; with `udp`, UDP mappings are forgotten too. */
  cut(opts: { udp?: boolean } = {}): void {
    for (const c of [...this.#conns]) this.#kill(c);
    if (opts.udp) for (const flows of this.#flows) this.#forget(flows);
  }

  stats(): RelayStats {
    let tcpHeld = 0;
    for (const c of this.#conns) for (const l of c.lanes) tcpHeld += l.bytes;
    return { ...this.#link.stats, tcpHeld };
  }

  /** Closes every socket and timer. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#blackoutTimer);
    await Promise.allSettled([...this.#udp.values(), ...this.#tcp.values()]);
    this.cut({ udp: true });
    await Promise.all([
      ...[...this.#listeners].map((s) => new Promise((resolve) => s.close(() => resolve(null)))),
      ...[...this.#servers].map((s) => new Promise((resolve) => s.close(() => resolve(null)))),
    ]);
    this.#listeners.clear();
    this.#servers.clear();
  }

  #seedFor(n: number, dir: Direction): number {
    return (Math.imul(this.#seed, 0x9e3779b1) ^ Math.imul(2 * n + (dir === 'up' ? 1 : 2), 0x85ebca6b)) >>> 0;
  }

  #forget(flows: Map<string, UdpFlow>): void {
    for (const f of flows.values()) {
      for (const l of f.lanes) l.clear();
      f.upstream.close();
    }
    flows.clear();
  }

  /** Counts a datagram in; drops it (blackout, loss) or queues it. */
  #datagram(lane: Lane<Buffer>, msg: Buffer): void {
    const { stats, dark, faults } = this.#link;
    stats.udpIn += 1;
    const loss = faults[lane.dir].loss;
    if (dark[lane.dir] || (loss > 0 && lane.rand() < loss)) stats.udpDropped += 1;
    else lane.push(msg, msg.length);
  }

  /** Sends a released datagram, unless a blackout began while it waited. */
  #send(lane: Lane<Buffer>, send: () => void): void {
    if (this.#link.dark[lane.dir]) {
      this.#link.stats.udpDropped += 1;
      return;
    }
    this.#link.stats.udpOut += 1;
    send();
  }

  async #openUdp(port: number, host: string, listenPort: number): Promise<number> {
    if (this.#closed) throw new Error('relay closed');
    const family = net.isIPv6(this.#host) ? 'udp6' : 'udp4';
    const listener = dgram.createSocket({
      type: family,
      recvBufferSize: UDP_BUFFER,
      sendBufferSize: UDP_BUFFER,
    });
    this.#listeners.add(listener);
    const flows = new Map<string, UdpFlow>();
    this.#flows.add(flows);
    listener.on('message', (msg, from) => {
      if (this.#closed) return;
      const key = `${from.address}:${from.port}`;
      let flow = flows.get(key);
      if (!flow) {
        const upstream = dgram.createSocket({
          type: net.isIPv6(host) ? 'udp6' : 'udp4',
          recvBufferSize: UDP_BUFFER,
          sendBufferSize: UDP_BUFFER,
        });
        upstream.on('error', () => undefined);
        upstream.bind(0);
        const n = this.#flowCount++;
        const up: Lane<Buffer> = new Lane(this.#link, 'up', this.#seedFor(n, 'up'), false, (m) =>
          this.#send(up, () => upstream.send(m, port, host)),
        );
        const down: Lane<Buffer> = new Lane(this.#link, 'down', this.#seedFor(n, 'down'), false, (m) =>
          this.#send(down, () => listener.send(m, from.port, from.address)),
        );
        upstream.on('message', (m) => this.#datagram(down, m));
        flow = { upstream, lanes: [up, down] };
        flows.set(key, flow);
      }
      this.#datagram(flow.lanes[0] as Lane<Buffer>, msg);
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.bind(listenPort, this.#host, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    listener.on('error', () => undefined);
    return listener.address().port;
  }

  async #openTcp(port: number, host: string, listenPort: number): Promise<number> {
    if (this.#closed) throw new Error('relay closed');
    const server = net.createServer({ allowHalfOpen: true }, (client) => this.#pipe(client, port, host));
    this.#servers.add(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPort, this.#host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as net.AddressInfo).port;
  }

  #pipe(client: net.Socket, port: number, host: string): void {
    const upstream = net.connect({ port, host, allowHalfOpen: true });
    const n = this.#flowCount++;
    const conn: TcpConn = { sockets: [client, upstream], lanes: [] };
    this.#conns.add(conn);
    let open = 2;
    const wire = (src: net.Socket, dst: net.Socket, dir: Direction) => {
      const throttle = () => {
        const full = lane.bytes + dst.writableLength > HOLD_LIMIT;
        if (full && !src.isPaused()) src.pause();
        else if (!full && src.isPaused()) src.resume();
      };
      const lane = new Lane<Buffer | null>(this.#link, dir, this.#seedFor(n, dir), true, (b) => {
        if (dst.destroyed) return;
        if (b === null) dst.end();
        else {
          this.#link.stats.tcpBytesOut += b.length;
          dst.write(b);
        }
        throttle();
      });
      conn.lanes.push(lane);
      src.on('data', (b: Buffer) => {
        this.#link.stats.tcpBytesIn += b.length;
        lane.push(b, b.length);
        throttle();
      });
      src.on('end', () => lane.push(null, 0));
      src.on('error', () => this.#kill(conn));
      src.on('close', () => {
        open -= 1;
        if (open === 0) this.#kill(conn);
      });
      dst.on('drain', throttle);
    };
    wire(client, upstream, 'up');
    wire(upstream, client, 'down');
    if (this.#closed) this.#kill(conn);
  }

  #kill(conn: TcpConn): void {
    this.#conns.delete(conn);
    for (const l of conn.lanes) l.clear();
    for (const s of conn.sockets) reset(s);
  }
}
