/** The fault-injection relay (tests/helpers/relay.ts): forwarding, delay, loss, blackout, cut, close. */
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import { FaultRelay } from '../helpers/relay';
import { waitFor } from '../helpers/waitFor';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function newRelay(seed?: number): FaultRelay {
  const r = new FaultRelay(seed === undefined ? {} : { seed });
  cleanup.push(() => r.close());
  return r;
}

interface Udp {
  socket: dgram.Socket;
  port: number;
  got: { msg: Buffer; from: dgram.RemoteInfo; at: number }[];
  send(msg: Buffer, port: number): void;
}

async function udpSocket(echo = false): Promise<Udp> {
  const socket = dgram.createSocket('udp4');
  const got: Udp['got'] = [];
  socket.on('message', (msg, from) => {
    got.push({ msg, from, at: performance.now() });
    if (echo) socket.send(msg, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return {
    socket,
    port: socket.address().port,
    got,
    send: (msg, port) => socket.send(msg, port, '127.0.0.1'),
  };
}

const seq = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

interface Peer {
  socket: net.Socket;
  data: Buffer[];
  closed: boolean;
  error?: string;
}

function track(socket: net.Socket): Peer {
  const p: Peer = { socket, data: [], closed: false };
  socket.on('data', (d: Buffer) => p.data.push(d));
  socket.on('error', (e: NodeJS.ErrnoException) => (p.error = e.code ?? e.message));
  socket.on('close', () => (p.closed = true));
  return p;
}
const text = (p: Peer) => Buffer.concat(p.data).toString();

async function tcpServer(echo = false): Promise<{ port: number; peers: Peer[] }> {
  const peers: Peer[] = [];
  const server = net.createServer((s) => {
    peers.push(track(s));
    if (echo) s.on('data', (d: Buffer) => s.write(d));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.push(() => {
    for (const p of peers) p.socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as net.AddressInfo).port, peers };
}

async function tcpClient(port: number): Promise<Peer> {
  const socket = net.connect(port, '127.0.0.1');
  const p = track(socket);
  cleanup.push(() => socket.destroy());
  await once(socket, 'connect');
  return p;
}

describe('FaultRelay forwarding', () => {
  it('forwards UDP byte for byte, one upstream source per client, replies from the relay port', async () => {
    const relay = newRelay();
    const echo = await udpSocket(true);
    const port = await relay.udp(echo.port);
    expect(await relay.udp(echo.port)).toBe(port);
    const clients = [await udpSocket(), await udpSocket()];
    const sent = clients.map(() => Array.from({ length: 5 }, () => crypto.randomBytes(1200)));
    clients.forEach((c, i) => sent[i]?.forEach((m) => c.send(m, port)));
    await waitFor('both echoes', () => clients.every((c) => c.got.length === 5), {
      missing: () => clients.map((c) => c.got.length),
    });

    clients.forEach((c, i) => {
      expect(c.got.map((g) => g.msg.toString('hex'))).toEqual(sent[i]?.map((m) => m.toString('hex')));
      expect(new Set(c.got.map((g) => g.from.port))).toEqual(new Set([port]));
    });
    const sources = new Set(echo.got.map((g) => g.from.port));
    expect(sources.size).toBe(2);
    for (const p of [port, ...clients.map((c) => c.port)]) expect(sources.has(p)).toBe(false);
    expect(relay.stats()).toMatchObject({ udpIn: 20, udpOut: 20, udpDropped: 0 });
  });

  it('pipes TCP byte for byte, in order even with jitter', async () => {
    const relay = newRelay();
    const echo = await tcpServer(true);
    const port = await relay.tcp(echo.port);
    expect(await relay.tcp(echo.port)).toBe(port);
    relay.set({ delayMs: 5, jitterMs: 5 });
    const client = await tcpClient(port);
    const payload = crypto.randomBytes(1 << 20);
    for (let i = 0; i < payload.length; i += 16_384) client.socket.write(payload.subarray(i, i + 16_384));
    await waitFor('the echo of 1 MiB', () => Buffer.concat(client.data).length >= payload.length, {
      missing: () => Buffer.concat(client.data).length,
    });

    expect(Buffer.concat(client.data).equals(payload)).toBe(true);
    expect(relay.stats()).toMatchObject({ tcpBytesIn: 2 << 20, tcpBytesOut: 2 << 20, tcpHeld: 0 });
  });
  it("listens on the target's own port on another loopback address, if asked", async () => {
    const relay = new FaultRelay({ host: '127.0.0.2' });
    cleanup.push(() => relay.close());
    const echo = await udpSocket(true);
    const server = await tcpServer(true);
    expect(await relay.udp(echo.port, '127.0.0.1', echo.port)).toBe(echo.port);
    expect(await relay.tcp(server.port, '127.0.0.1', server.port)).toBe(server.port);
    const client = await udpSocket();
    client.socket.send(seq(5), echo.port, '127.0.0.2');
    await waitFor('the echo', () => client.got.length === 1);
    expect(client.got[0]?.from).toMatchObject({ address: '127.0.0.2', port: echo.port });
    const tcp = net.connect(server.port, '127.0.0.2');
    const peer = track(tcp);
    cleanup.push(() => tcp.destroy());
    tcp.write('via 127.0.0.2');
    await waitFor('the TCP echo', () => text(peer) === 'via 127.0.0.2');
    expect(relay.stats().tcpBytesOut).toBe(2 * 'via 127.0.0.2'.length);
  });
});

describe('FaultRelay delay', () => {
  async function oneWay(relay: FaultRelay, n: number): Promise<{ delays: number[]; order: number[] }> {
    const sink = await udpSocket();
    const port = await relay.udp(sink.port);
    const client = await udpSocket();
    const sentAt: number[] = [];
    for (let i = 0; i < n; i++) {
      sentAt.push(performance.now());
      client.send(seq(i), port);
    }
    await waitFor(`${n} datagrams`, () => sink.got.length === n, { missing: () => sink.got.length });
    const order = sink.got.map((g) => g.msg.readUInt32BE(0));
    return { delays: sink.got.map((g, i) => g.at - (sentAt[order[i] as number] as number)), order };
  }
  const inOrder = (n: number) => Array.from({ length: n }, (_, i) => i);

  it('delays each datagram by delayMs and keeps their order', async () => {
    const relay = newRelay();
    relay.set({ delayMs: 100 });
    const { delays, order } = await oneWay(relay, 30);
    expect(order).toEqual(inOrder(30));
    expect(median(delays)).toBeGreaterThanOrEqual(90);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(95);
  });

  it('with jitter, spreads the delay but never reorders a flow', async () => {
    const relay = newRelay();
    relay.set({ delayMs: 100, jitterMs: 50 });
    const { delays, order } = await oneWay(relay, 40);
    expect(order).toEqual(inOrder(40));
    expect(median(delays)).toBeGreaterThanOrEqual(90);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(45);
  });

  it('delays one direction only when asked', async () => {
    const relay = newRelay();
    const echo = await udpSocket(true);
    const port = await relay.udp(echo.port);
    relay.set({ delayMs: 150 }, 'down');
    const client = await udpSocket();
    const t0 = performance.now();
    client.send(seq(1), port);
    await waitFor('the echo', () => client.got.length === 1);

    const upLeg = (echo.got[0]?.at as number) - t0;
    const downLeg = (client.got[0]?.at as number) - (echo.got[0]?.at as number);
    expect(downLeg).toBeGreaterThanOrEqual(145);
    expect(upLeg).toBeLessThan(downLeg);
  });
});

describe('FaultRelay loss', () => {
  async function lossyRun(seed: number): Promise<{ received: number[]; dropped: number }> {
    const relay = newRelay(seed);
    relay.set({ loss: 0.3 }, 'up');
    const sink = await udpSocket();
    const port = await relay.udp(sink.port);
    const client = await udpSocket();
    // In batches the kernel's buffers take whole, so only the relay drops.
    for (let sent = 0; sent < 1000;) {
      for (let i = 0; i < 100; i++) client.send(seq(sent++), port);
      await waitFor('the relay to read the batch', () => relay.stats().udpIn === sent, {
        intervalMs: 5,
        missing: () => relay.stats(),
      });
    }
    await waitFor('the sink to read what was forwarded', () => sink.got.length === relay.stats().udpOut, {
      missing: () => ({ got: sink.got.length, stats: relay.stats() }),
    });
    const { udpDropped, udpOut } = relay.stats();
    expect(udpDropped + udpOut).toBe(1000);
    await relay.close();
    return { received: sink.got.map((g) => g.msg.readUInt32BE(0)), dropped: udpDropped };
  }

  it('drops about the share asked, the same datagrams for the same seed', async () => {
    const a = await lossyRun(7);
    expect(a.dropped).toBeGreaterThanOrEqual(250);
    expect(a.dropped).toBeLessThanOrEqual(350);
    expect(a.received).toHaveLength(1000 - a.dropped);
    expect(a.received).toEqual([...a.received].sort((x, y) => x - y));

    const again = await lossyRun(7);
    expect(again.received).toEqual(a.received);
    const other = await lossyRun(8);
    expect(other.received).not.toEqual(a.received);
  });
});

describe('FaultRelay blackout', () => {
  it('drops UDP during a blackout, including datagrams already queued, and forwards again after', async () => {
    const relay = newRelay();
    const echo = await udpSocket(true);
    const port = await relay.udp(echo.port);
    const client = await udpSocket();

    relay.set({ delayMs: 200 });
    for (let i = 0; i < 3; i++) client.send(seq(i), port);
    await waitFor('3 datagrams queued', () => relay.stats().udpIn === 3);
    relay.blackout();
    for (let i = 3; i < 8; i++) client.send(seq(i), port);
    await waitFor('8 datagrams dropped', () => relay.stats().udpDropped === 8, {
      missing: () => relay.stats(),
    });
    expect(echo.got).toHaveLength(0);

    relay.restore();
    relay.set({ delayMs: 0 });
    client.send(seq(99), port);
    await waitFor('the echo after restore', () => client.got.length === 1);
    expect(client.got[0]?.msg.readUInt32BE(0)).toBe(99);
    expect(relay.stats()).toMatchObject({ udpIn: 10, udpOut: 2, udpDropped: 8 });
  });

  it('blacks out one direction only when asked', async () => {
    const relay = newRelay();
    const echo = await udpSocket(true);
    const port = await relay.udp(echo.port);
    const client = await udpSocket();
    relay.blackout(undefined, 'down');
    client.send(seq(1), port);
    await waitFor('the echo to be dropped', () => relay.stats().udpDropped === 1);
    expect(echo.got).toHaveLength(1);
    expect(client.got).toHaveLength(0);
  });

  it('holds TCP bytes both ways during a blackout and delivers them after restore', async () => {
    const relay = newRelay();
    const server = await tcpServer();
    const client = await tcpClient(await relay.tcp(server.port));
    client.socket.write('before|');
    await waitFor('the first bytes', () => text(server.peers[0] as Peer) === 'before|');
    const peer = server.peers[0] as Peer;

    relay.blackout();
    client.socket.end('held up'); // its FIN is held too, behind the bytes
    peer.socket.write('held down');
    await waitFor('16 bytes held', () => relay.stats().tcpHeld === 16, { missing: () => relay.stats() });
    expect(text(peer)).toBe('before|');
    expect(text(client)).toBe('');
    expect(peer.closed).toBe(false);

    relay.restore();
    // The server reads the bytes, then the FIN, and closes: the client reads 'held down', then the FIN.
    await waitFor('the held bytes, then a clean close', () => peer.closed && client.closed, {
      missing: () => [text(peer), text(client), peer.closed, client.closed],
    });
    expect([text(peer), text(client)]).toEqual(['before|held up', 'held down']);
    expect([peer.error, client.error]).toEqual([undefined, undefined]);
    expect(relay.stats().tcpHeld).toBe(0);
  });

  it('ends a timed blackout by itself', async () => {
    const relay = newRelay();
    const server = await tcpServer();
    const client = await tcpClient(await relay.tcp(server.port));
    await waitFor('the connection at the server', () => server.peers.length === 1);
    const t0 = performance.now();
    relay.blackout(300);
    client.socket.write('late');
    await waitFor('the held bytes', () => text(server.peers[0] as Peer) === 'late');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(295);
  });
});

describe('FaultRelay cut', () => {
  it('resets every TCP connection, drops what was held, and still relays new ones', async () => {
    const relay = newRelay();
    const echo = await tcpServer(true);
    const port = await relay.tcp(echo.port);
    const clients = [await tcpClient(port), await tcpClient(port)];
    clients.forEach((c) => c.socket.write('ping'));
    await waitFor('both echoes', () => clients.every((c) => text(c) === 'ping'));

    relay.blackout();
    clients[0]?.socket.write('never');
    await waitFor('5 bytes held', () => relay.stats().tcpHeld === 5);
    relay.cut();
    expect(relay.stats().tcpHeld).toBe(0);
    await waitFor('all four sockets closed', () => [...clients, ...echo.peers].every((p) => p.closed), {
      missing: () => [...clients, ...echo.peers].map((p) => [p.closed, p.error]),
    });
    relay.restore();
    expect(clients.map((c) => c.error)).toEqual(['ECONNRESET', 'ECONNRESET']);
    expect(echo.peers.map((p) => text(p))).toEqual(['ping', 'ping']);

    const fresh = await tcpClient(port);
    fresh.socket.write('again');
    await waitFor('an echo on a new connection', () => text(fresh) === 'again');
    expect(echo.peers).toHaveLength(3);
  });

  it('with udp, forgets the UDP mappings: the next datagram comes from a new source', async () => {
    const relay = newRelay();
    const echo = await udpSocket(true);
    const port = await relay.udp(echo.port);
    const client = await udpSocket();
    client.send(seq(1), port);
    await waitFor('the first echo', () => client.got.length === 1);
    relay.cut({ udp: true });
    client.send(seq(2), port);
    await waitFor('the second echo', () => client.got.length === 2);
    expect(echo.got[1]?.from.port).not.toBe(echo.got[0]?.from.port);
  });
});

describe('FaultRelay close', () => {
  const SOCKETS = ['UDPWrap', 'TCPServerWrap', 'TCPSocketWrap'];
  const count = (kinds: string[]) => process.getActiveResourcesInfo().filter((r) => kinds.includes(r)).length;

  it('closes every socket and timer it opened', async () => {
    // Other suites in this process (jest --runInBand) may hold sockets of their own (a media
    // worker's pipes): what this test opens must be gone at the end, whatever was there before.
    const before = count(SOCKETS);
    const relay = new FaultRelay();
    const echo = dgram.createSocket('udp4');
    echo.on('message', (m, from) => echo.send(m, from.port, from.address));
    await new Promise<void>((resolve) => echo.bind(0, '127.0.0.1', resolve));
    const client = dgram.createSocket('udp4');
    let echoes = 0;
    client.on('message', () => (echoes += 1));
    const server = net.createServer((s) => s.on('error', () => undefined));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');

    const udpPort = await relay.udp(echo.address().port);
    client.send(seq(1), udpPort, '127.0.0.1');
    await waitFor('an echo', () => echoes === 1);
    relay.set({ delayMs: 10_000 });
    client.send(seq(2), udpPort, '127.0.0.1');
    await waitFor('a datagram waiting in the relay', () => relay.stats().udpIn === 3);
    const tcp = net.connect(await relay.tcp((server.address() as net.AddressInfo).port), '127.0.0.1');
    tcp.on('error', () => undefined);
    await once(tcp, 'connect');
    relay.blackout(60_000);
    tcp.write('held');
    await waitFor('bytes held in the relay', () => relay.stats().tcpHeld === 4);

    // Two timers of the relay's are running: the delayed datagram's and the blackout's.
    const timersBeforeClose = count(['Timeout']);
    const tcpClosed = new Promise((resolve) => tcp.on('close', resolve));
    await relay.close();
    expect(count(['Timeout'])).toBeLessThanOrEqual(timersBeforeClose - 2);
    await tcpClosed;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => echo.close(() => resolve()));
    await new Promise<void>((resolve) => client.close(() => resolve()));
    await waitFor('the sockets to be gone', () => count(SOCKETS) <= before, {
      missing: () => process.getActiveResourcesInfo(),
    });
    expect(count(SOCKETS)).toBeLessThanOrEqual(before);
    expect(relay.stats()).toMatchObject({ udpIn: 3, udpOut: 2, tcpHeld: 0 });
  });
});
