/**
 * Stable error codes. Callers branch on `code`, never on message text.
 * Every code is documented in docs/errors.md (a test checks that).
 */
export const ERROR_CODES = [
  // configuration and start-up
  'CONFIG_INVALID',
  'INTERNAL',
  // geofences
  'GEOFENCE_INVALID',
  'GEOFENCE_NOT_FOUND',
  'GEOFENCE_CATALOGUE_INVALID',
  // API
  'VALIDATION_FAILED',
  'BODY_TOO_LARGE',
  'BODY_MALFORMED',
  'UNSUPPORTED_MEDIA_TYPE',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'VERSION_CONFLICT',
  'RATE_LIMITED',
  // store
  'STORE_UNAVAILABLE',
  'STORE_QUERY_FAILED',
  'STORE_ROW_INVALID',
  'STORE_BACKPRESSURE',
  'MIGRATION_FAILED',
  // profiles and segments
  'PROFILE_ROW_INVALID',
  'SEGMENT_INVALID',
  'SEGMENT_NOT_FOUND',
  // ingest
  'PING_INVALID',
  'KAFKA_UNAVAILABLE',
  // campaigns, consent, decisions
  'CAMPAIGN_INVALID',
  'CAMPAIGN_NOT_FOUND',
  'CAMPAIGN_STATE_INVALID',
  'POLICY_INVALID',
  'CONSENT_INVALID',
  // delivery
  'SMPP_THROTTLED',
  'SMPP_QUEUE_FULL',
  'SMPP_TIMEOUT',
  'SMPP_CONNECTION_LOST',
  'SMPP_BIND_FAILED',
  'SMPP_REJECTED',
  'SMPP_NOT_BOUND',
  'SMS_ENCODING_FAILED',
  'DIRECTORY_MISS',
  'DELIVERY_UNKNOWN',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface AppErrorOptions {
  retriable?: boolean;
  httpStatus?: number;
  cause?: unknown;
  /** Machine-readable detail (e.g. validation issues); safe to show to API clients. */
  details?: unknown;
}

/** The one error type of the service: a stable code, whether retrying can help, and an HTTP status. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly httpStatus: number | undefined;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.httpStatus = options.httpStatus;
    this.details = options.details;
  }
}

/** True for an AppError, optionally of one of the given codes. */
export function isAppError(err: unknown, ...codes: ErrorCode[]): err is AppError {
  return err instanceof AppError && (codes.length === 0 || codes.includes(err.code));
}
