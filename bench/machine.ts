import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** What the figures were measured on: they mean little without it. */
export function machine(chromiumPath?: string): Record<string, unknown> {
  let chromium: string | undefined;
  try {
    if (chromiumPath) chromium = execFileSync(chromiumPath, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    chromium = undefined;
  }
  return {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
    chromium,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
