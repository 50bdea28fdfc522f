import pino, { type Logger, type LoggerOptions } from 'pino';

/**
 * Paths redacted from every log line: subscriber pseudonyms, phone numbers, message text,
 * secrets. Stages log identifiers only under these names.
 */
export const REDACT_PATHS = [
  'sid',
  '*.sid',
  'msisdn',
  '*.msisdn',
  'phone',
  '*.phone',
  'destination_addr',
  '*.destination_addr',
  'source_addr',
  '*.source_addr',
  'text',
  '*.text',
  'short_message',
  '*.short_message',
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'req.headers.authorization',
  'req.headers.cookie',
];

export interface LoggerConfig {
  level: string;
  pretty?: boolean;
}

/** Creates the service's one root logger; stages take `logger.child({ stage })`. */
export function createLogger(config: LoggerConfig, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level: config.level,
    base: { service: 'geotrigger' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
