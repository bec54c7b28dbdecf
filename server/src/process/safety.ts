/**
 * What the process does with an error nobody caught.
 *
 * - A rejected promise nobody awaited: one asynchronous operation failed; what it belonged to has
 *   already answered or timed out, and the rest of the conference is unaffected. Logged with its
 *   stack and counted; the bridge stays up.
 * - A thrown exception that reached the event loop: the network's ordinary failures (a peer that
 *   reset its connection, a closed pipe) are logged and survived. Anything else is a bug whose
 *   damage is unknown: log it, close what can be closed within a short time, and exit non-zero,
 *   so the supervisor (systemd `Restart=always`, docker `restart: unless-stopped`) starts a clean
 *   process. Every acknowledged change is already in SQLite, so the conference resumes where it
 *   was and the halls reconnect by themselves.
 */
import type { Logger } from '../logger';

/** Error codes of the network's ordinary failures: not bugs in this program. */
const OPERATIONAL_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

export type Verdict = 'survive' | 'exit';

export function classifyUncaught(error: unknown): Verdict {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && OPERATIONAL_CODES.has(code) ? 'survive' : 'exit';
}

export interface SafetyDeps {
  log: Logger;
  /** Best-effort shutdown before exiting; given `graceMs` at most. */
  shutdown: () => Promise<void>;
  exit: (code: number) => void;
  graceMs?: number;
}

export interface Safety {
  readonly unhandledRejections: number;
  readonly survivedExceptions: number;
  onUnhandledRejection(reason: unknown): void;
  onUncaughtException(error: unknown): void;
}

const describe = (e: unknown) =>
  e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : { value: String(e) };

export function createSafety(deps: SafetyDeps): Safety {
  let rejections = 0;
  let survived = 0;
  let exiting = false;
  return {
    get unhandledRejections() {
      return rejections;
    },
    get survivedExceptions() {
      return survived;
    },
    onUnhandledRejection(reason) {
      rejections += 1;
      deps.log.error('unhandled promise rejection (contained; the bridge stays up)', {
        count: rejections,
        ...describe(reason),
      });
    },
    onUncaughtException(error) {
      if (classifyUncaught(error) === 'survive') {
        survived += 1;
        deps.log.warn('network error nobody handled (survived)', describe(error));
        return;
      }
      deps.log.error('uncaught exception: a bug; exiting for the supervisor to restart', describe(error));
      if (exiting) return;
      exiting = true;
      const timer = setTimeout(() => deps.exit(1), deps.graceMs ?? 3000);
      timer.unref?.();
      deps.shutdown().then(
        () => {
          clearTimeout(timer);
          deps.exit(1);
        },
        () => {
          clearTimeout(timer);
          deps.exit(1);
        },
      );
    },
  };
}

/** Installs the policy on this process. */
export function installProcessSafety(deps: SafetyDeps): Safety {
  const safety = createSafety(deps);
  process.on('unhandledRejection', (r) => safety.onUnhandledRejection(r));
  process.on('uncaughtException', (e) => safety.onUncaughtException(e));
  return safety;
}
