/** The media sockets as the kernel sees them: receive buffer check, /proc/net/udp counters, drop warnings. */
import fs from 'node:fs';
import {
  RECOMMENDED_RMEM,
  UdpMonitor,
  checkReceiveBuffer,
  parseProcNetUdp,
} from '../../server/src/media/udpHealth';

const HEADER =
  '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            ';
const line = (sl: number, port: number, rxQueue: number, drops: number) =>
  `  ${sl}: 0100007F:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 07 00000000:${rxQueue
    .toString(16)
    .toUpperCase()
    .padStart(8, '0')} 00:00000000 00000000     0        0 ${1000 + sl} 2 0000000000000000 ${drops}`;

function fakeProc(files: Record<string, string>) {
  return (file: string) => {
    const v = files[file];
    if (v === undefined) throw new Error(`ENOENT ${file}`);
    return v;
  };
}

describe('parseProcNetUdp', () => {
  it('reads the port (hex), the receive queue (hex) and the drops (decimal) of each socket', () => {
    const text = [HEADER, line(1, 40000, 0xa00, 2597), line(2, 40001, 0, 0), ''].join('\n');
    expect(parseProcNetUdp(text)).toEqual([
      { port: 40000, inode: 1001, rxQueue: 0xa00, drops: 2597 },
      { port: 40001, inode: 1002, rxQueue: 0, drops: 0 },
    ]);
  });

  it("reads this machine's own table without error", () => {
    expect(() => parseProcNetUdp(fs.readFileSync('/proc/net/udp', 'utf8'))).not.toThrow();
  });
});

describe('checkReceiveBuffer', () => {
  it("a stock Debian's 212,992 bytes: too small, with the command that fixes it", () => {
    const c = checkReceiveBuffer(
      fakeProc({ '/proc/sys/net/core/rmem_default': '212992\n', '/proc/sys/net/core/rmem_max': '212992\n' }),
    );
    expect(c.ok).toBe(false);
    expect(c.command).toContain(
      `sysctl -w net.core.rmem_default=${RECOMMENDED_RMEM} net.core.rmem_max=${RECOMMENDED_RMEM}`,
    );
    expect(c.command).toContain('cp deploy/90-hoinghi.conf /etc/sysctl.d/');
  });

  it('4 MiB or more is enough; a larger rmem_max is never lowered by the advice', () => {
    expect(
      checkReceiveBuffer(
        fakeProc({
          '/proc/sys/net/core/rmem_default': `${RECOMMENDED_RMEM}`,
          '/proc/sys/net/core/rmem_max': '1',
        }),
      ),
    ).toMatchObject({ ok: true, command: null });
    const c = checkReceiveBuffer(
      fakeProc({ '/proc/sys/net/core/rmem_default': '1000', '/proc/sys/net/core/rmem_max': '16777216' }),
    );
    expect(c.command).toContain('net.core.rmem_max=16777216');
  });

  it('without /proc it says nothing', () => {
    expect(checkReceiveBuffer(fakeProc({}))).toMatchObject({ ok: true, command: null, rmemDefault: null });
  });
});

describe('UdpMonitor', () => {
  it('warns at start when the buffer is small, and whenever the drop counter of a worker socket grows', () => {
    let drops = 5;
    let pipeDrops: number | undefined = undefined;
    const files = () => ({
      '/proc/sys/net/core/rmem_default': '212992',
      '/proc/sys/net/core/rmem_max': '212992',
      '/proc/net/udp': [
        HEADER,
        line(1, 40000, 0, drops),
        line(2, 40001, 0, 0),
        ...(pipeDrops === undefined ? [] : [line(3, 50000, 0x100, pipeDrops)]),
      ].join('\n'),
    });
    const warnings: { msg: string; fields: Record<string, unknown> }[] = [];
    const m = new UdpMonitor({
      workers: () => [
        { index: 0, pid: 10, udpPort: 40000 },
        { index: 1, pid: 11, udpPort: 40001 },
      ],
      warn: (msg, fields) => warnings.push({ msg, fields }),
      read: (f) => fakeProc(files())(f),
      // Worker 0 also owns a pipe socket (inode 1003) once it exists.
      socketInodes: (pid) => (pid === 10 ? new Set([1001, 1003]) : new Set([1002])),
    });
    const check = m.start(3_600_000);
    m.stop();
    expect(check.ok).toBe(false);
    expect(warnings.map((w) => w.msg)).toEqual([expect.stringMatching(/receive buffer is small/)]);
    drops = 42;
    const h = m.sample();
    expect(warnings[1]).toMatchObject({ fields: { worker: 0, port: 40000, dropped: 37 } });
    expect(h.dropsSinceStart).toBe(37);
    expect(h.sockets.map((s) => [s.worker, s.port, s.drops])).toEqual([
      [0, 40000, 42],
      [1, 40001, 0],
    ]);
    expect(m.sample(true).dropsSinceStart).toBe(37);
    expect(warnings).toHaveLength(2); // no new drops, and a quiet read never warns

    // A pipe between workers opens later and drops 3: counted from its opening, and warned about.
    pipeDrops = 3;
    const p = m.sample();
    expect(p.sockets[0]?.pipes).toEqual({ sockets: 1, rxQueue: 0x100, drops: 3 });
    expect(p.sockets[1]?.pipes).toEqual({ sockets: 0, rxQueue: 0, drops: 0 });
    expect(p.dropsSinceStart).toBe(40);
    expect(warnings[2]).toMatchObject({ fields: { worker: 0, dropped: 0, droppedOnPipes: 3 } });
  });
});
