// Composition root: the only place that reads configuration; src/service.ts wires the stages.
import { loadConfig } from './config.ts';
import { isAppError } from './errors.ts';
import { createLogger } from './logger.ts';
import { startService } from './service.ts';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (isAppError(err, 'CONFIG_INVALID')) {
      process.stderr.write(`geotrigger: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.LOG_LEVEL });
  let service: Awaited<ReturnType<typeof startService>>;
  try {
    service = await startService(config, logger);
  } catch (err) {
    if (isAppError(err, 'CONFIG_INVALID')) {
      logger.fatal({ code: err.code }, err.message);
      process.stderr.write(`geotrigger: ${err.message}\n`);
      process.exit(2);
    }
    logger.fatal({ err }, 'start-up failed');
    process.exit(1);
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(130);
    }
    void service.stop(signal).then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
}

await main();
