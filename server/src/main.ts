/**
 * Entry point: load and validate config, start, print the address, handle signals.
 * SIGTERM/SIGINT stop gracefully; a second one forces the exit.
 */
import { type Application, startApplication } from './app';
import { ConfigError, loadConfig } from './config/config';
import { createLogger, setLogLevel } from './logger';
import { installProcessSafety } from './process/safety';

const log = createLogger('main');

function configFileFromArgs(argv: string[]): string | undefined {
  const i = argv.indexOf('--config');
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const running: { app?: Application } = {};
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals += 1;
    const app = running.app;
    if (signals > 1 || !app) {
      log.warn(`${sig} again: forcing exit`);
      process.exit(1);
    }
    log.info(`${sig}: shutting down (send it again to force)`);
    const forced = setTimeout(() => {
      log.error('shutdown took too long: forcing exit');
      process.exit(1);
    }, 10_000);
    forced.unref();
    app.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error('shutdown failed', { error: e });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  installProcessSafety({
    log,
    shutdown: () => running.app?.stop() ?? Promise.resolve(),
    exit: (code) => process.exit(code),
  });

  const config = loadConfig({ file: configFileFromArgs(process.argv) });
  setLogLevel(config.log.level);
  const app = await startApplication(config);
  running.app = app;
  process.stdout.write(
    `\nhoinghi: ${config.conference.title} (${app.roster.sites.length} sites)\n` +
      `  open: ${app.url}\n  join links: npm run links\n  stop: Ctrl-C\n\n`,
  );
}

main().catch((e: unknown) => {
  const msg = e instanceof ConfigError ? `configuration error: ${e.message}` : (e as Error).message;
  process.stderr.write(`hoinghi could not start: ${msg}\n`);
  process.exit(1);
});
