/** The process policy for errors nobody caught: contain rejections, survive network errors, exit on bugs. */
import type { Logger } from '../../server/src/logger';
import { classifyUncaught, createSafety } from '../../server/src/process/safety';

function logger() {
  const lines: string[] = [];
  const log: Logger = {
    debug: (m) => lines.push(`debug ${m}`),
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
  return { log, lines };
}

describe('process safety', () => {
  it('classifies network failures as survivable and everything else as a bug', () => {
    expect(classifyUncaught(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe('survive');
    expect(classifyUncaught(Object.assign(new Error('pipe'), { code: 'EPIPE' }))).toBe('survive');
    expect(classifyUncaught(new RangeError('Maximum call stack size exceeded'))).toBe('exit');
    expect(classifyUncaught(new TypeError('x is undefined'))).toBe('exit');
    expect(classifyUncaught('a string')).toBe('exit');
    expect(classifyUncaught(null)).toBe('exit');
  });

  it('logs and counts an unhandled rejection, and stays up', () => {
    const { log, lines } = logger();
    const exit = jest.fn();
    const s = createSafety({ log, shutdown: () => Promise.resolve(), exit });
    s.onUnhandledRejection(new Error('offer timed out'));
    s.onUnhandledRejection('plain reason');
    expect(s.unhandledRejections).toBe(2);
    expect(exit).not.toHaveBeenCalled();
    expect(lines.filter((l) => l.startsWith('error unhandled promise rejection'))).toHaveLength(2);
  });

  it('survives a network error nobody handled', () => {
    const { log } = logger();
    const exit = jest.fn();
    const s = createSafety({ log, shutdown: () => Promise.resolve(), exit });
    s.onUncaughtException(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
    expect(s.survivedExceptions).toBe(1);
    expect(exit).not.toHaveBeenCalled();
  });

  it('on a bug: shuts down once, then exits non-zero for the supervisor', async () => {
    const { log, lines } = logger();
    let exited: number | undefined;
    const done = new Promise<void>((resolve) => {
      const shutdown = jest.fn(() => Promise.resolve());
      const s = createSafety({
        log,
        shutdown,
        exit: (code) => {
          exited = code;
          expect(shutdown).toHaveBeenCalledTimes(1);
          resolve();
        },
      });
      s.onUncaughtException(new TypeError('bug'));
      s.onUncaughtException(new TypeError('second bug while shutting down'));
    });
    await done;
    expect(exited).toBe(1);
    expect(lines[0]).toMatch(/^error uncaught exception: a bug/);
  });

  it('exits non-zero even when the shutdown hangs', async () => {
    const { log } = logger();
    const code = await new Promise<number>((resolve) => {
      const s = createSafety({
        log,
        shutdown: () => new Promise(() => undefined),
        exit: resolve,
        graceMs: 20,
      });
      s.onUncaughtException(new Error('bug'));
    });
    expect(code).toBe(1);
  });
});
